// SPIFFE bundle parsing per the Trust Domain and Bundle spec and X509-SVID 6,
// bundle maps with duplicate detection, and the update rule (sequence grows).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { LocalCa } from './local-ca.js';
import { parseTrustDomain } from './spiffe-id.js';
import {
  acceptBundleUpdate,
  bundleFromDocument,
  bundleMapToJson,
  bundleToDocument,
  bundleToJson,
  parseBundleDocument,
  parseBundleJson,
  parseBundleMapJson,
  type TrustBundle,
} from './trust-bundle.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TD = parseTrustDomain('example.com');
let caPem: string;
let ca2Pem: string;

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-bundle-'));
  try {
    caPem = (await LocalCa.loadOrCreate(join(dir, 'a'), TD)).caCertPem;
    ca2Pem = (await LocalCa.loadOrCreate(join(dir, 'b'), TD)).caCertPem;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function x509Jwk(pem: string): Record<string, unknown> {
  const c = new X509Certificate(pem);
  return { ...(c.publicKey.export({ format: 'jwk' }) as object), use: 'x509-svid', x5c: [c.raw.toString('base64')] };
}

test('round trip through JSON text keeps keys, hint and a 64-bit sequence exactly', () => {
  const b: TrustBundle = { trustDomain: TD, x509Authorities: [caPem, ca2Pem], sequence: 2n ** 64n - 1n, refreshHintSeconds: 2419200 };
  const text = bundleToJson(b);
  assert.match(text, /"spiffe_sequence":18446744073709551615/);
  const back = parseBundleJson(text, 'example.com');
  assert.deepEqual(back.x509Authorities, [caPem, ca2Pem]);
  assert.equal(back.sequence, 2n ** 64n - 1n);
  assert.equal(back.refreshHintSeconds, 2419200);
  const doc = bundleToDocument(b);
  assert.equal(doc.keys[0]?.use, 'x509-svid');
  assert.equal(doc.keys[0]?.kid, undefined, 'x509-svid entries carry no kid');
  assert.equal((doc.keys[0]?.x5c as string[]).length, 1);
});

test('"keys" is required; an empty array means every key is revoked', () => {
  assert.throws(() => parseBundleJson('{"spiffe_sequence":1}', 'example.com'), /"keys" is missing/);
  assert.throws(() => parseBundleJson('{"keys":{}}', 'example.com'), /"keys" is missing or not an array/);
  const revoked = parseBundleJson('{"keys":[],"spiffe_sequence":7}', 'example.com');
  assert.deepEqual(revoked.x509Authorities, []);
  assert.equal(revoked.sequence, 7n);
});

test('spiffe_sequence must be an unsigned 64-bit integer', () => {
  for (const bad of ['-1', '18446744073709551616', '1.5', '"1"', 'true', '1.8e19']) {
    assert.throws(() => parseBundleJson(`{"keys":[],"spiffe_sequence":${bad}}`, 'example.com'), /spiffe_sequence/, bad);
  }
  assert.equal(parseBundleJson('{"keys":[],"spiffe_sequence":0}', 'example.com').sequence, 0n);
  assert.equal(parseBundleJson('{"keys":[],"spiffe_sequence":1e3}', 'example.com').sequence, 1000n, 'an exact integer in exponent form');
  assert.equal(parseBundleJson('{"keys":[]}', 'example.com').sequence, undefined);
  assert.throws(() => parseBundleJson('{"keys":[],"spiffe_refresh_hint":-5}', 'example.com'), /spiffe_refresh_hint/);
  assert.equal(parseBundleJson('{"keys":[]}', 'example.com').refreshHintSeconds, 300);
});

test('entries with unknown kty or use, or x509-svid without x5c, are ignored as the spec requires', () => {
  const doc = {
    keys: [
      { kty: 'oct', use: 'x509-svid', k: 'AAAA' },
      { ...x509Jwk(caPem), kty: undefined },
      { ...x509Jwk(caPem), use: undefined },
      { ...x509Jwk(caPem), use: 'X509-SVID' }, // values are case sensitive
      { ...x509Jwk(caPem), x5c: [] },
      { ...x509Jwk(caPem), x5c: undefined },
      x509Jwk(ca2Pem),
    ],
  };
  const r = parseBundleDocument(JSON.parse(JSON.stringify(doc)), 'example.com');
  assert.deepEqual(r.bundle.x509Authorities, [ca2Pem]);
  assert.equal(r.ignored.length, 6);
});

test('x5c: only the first certificate counts (with a warning); its key must match the JWK', () => {
  const c2 = new X509Certificate(ca2Pem);
  const extra = { ...x509Jwk(caPem), x5c: [...(x509Jwk(caPem).x5c as string[]), c2.raw.toString('base64')] };
  const r = parseBundleDocument({ keys: [extra] }, 'example.com');
  assert.deepEqual(r.bundle.x509Authorities, [caPem]);
  assert.match(r.warnings.join('\n'), /only the first counts/);
  const mismatched = { ...x509Jwk(caPem), x5c: [c2.raw.toString('base64')] };
  assert.throws(() => parseBundleDocument({ keys: [mismatched] }, 'example.com'), /does not match the certificate/);
  assert.throws(() => parseBundleDocument({ keys: [{ ...x509Jwk(caPem), x5c: ['not base64!'] }] }, 'example.com'), /not base64/);
  const withKid = parseBundleDocument({ keys: [{ ...x509Jwk(caPem), kid: 'k1' }] }, 'example.com');
  assert.match(withKid.warnings.join('\n'), /must not set kid/);
});

test('jwt-svid keys are parsed but kept apart from X.509 authorities', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const b = parseBundleJson(JSON.stringify({ keys: [{ ...jwk, use: 'jwt-svid', kid: 'key-1' }, x509Jwk(caPem)], spiffe_sequence: 3 }), 'example.com');
  assert.deepEqual(b.x509Authorities, [caPem]);
  assert.equal(b.jwtAuthorities?.[0]?.keyId, 'key-1');
  assert.throws(() => parseBundleJson(JSON.stringify({ keys: [{ ...jwk, use: 'jwt-svid' }] }), 'example.com'), /must have a kid/);
  const only = parseBundleJson(JSON.stringify({ keys: [{ ...jwk, use: 'jwt-svid', kid: 'k' }] }), 'example.com');
  assert.deepEqual(only.x509Authorities, [], 'a JWT-only bundle yields no X.509 authority');
  assert.match(bundleToJson(b), /"use":"jwt-svid"/);
});

test('duplicate JSON keys are refused in a bundle and in a bundle map', () => {
  assert.throws(() => parseBundleJson('{"keys":[],"spiffe_sequence":1,"spiffe_sequence":9}', 'example.com'), /duplicate key "spiffe_sequence"/);
  const one = bundleToJson({ trustDomain: TD, x509Authorities: [caPem], sequence: 1n, refreshHintSeconds: 60 });
  const two = bundleToJson({ trustDomain: TD, x509Authorities: [ca2Pem], sequence: 2n, refreshHintSeconds: 60 });
  assert.throws(() => parseBundleMapJson(`{"example.com":${one},"example.com":${two}}`), /duplicate key "example.com"/);
  const map = parseBundleMapJson(`{"example.com":${one},"other.test":${two}}`);
  assert.deepEqual([...map.keys()], ['example.com', 'other.test']);
  assert.equal(map.get(parseTrustDomain('other.test'))?.trustDomain, 'other.test', 'the map key names the trust domain');
  assert.throws(() => parseBundleMapJson(`{"Example.com":${one}}`), /lower case/);
  assert.equal(parseBundleMapJson(bundleMapToJson(map.values())).size, 2);
});

test('compat wrapper bundleFromDocument still takes a decoded object', () => {
  const b = bundleFromDocument(JSON.parse(bundleToJson({ trustDomain: TD, x509Authorities: [caPem], sequence: 5n, refreshHintSeconds: 60 })), 'example.com');
  assert.equal(b.sequence, 5n);
});

test('acceptBundleUpdate: a table of cases', () => {
  const mk = (sequence: bigint | undefined, pems: string[] = [caPem], td = TD): TrustBundle => ({ trustDomain: td, x509Authorities: pems, sequence, refreshHintSeconds: 60 });
  const cases: [TrustBundle | undefined, TrustBundle, string][] = [
    [undefined, mk(1n), 'accept'],
    [mk(1n), mk(2n, [caPem, ca2Pem]), 'accept'],
    [mk(5n), mk(4n), 'NOT_NEWER'],
    [mk(5n), mk(5n), 'UNCHANGED'],
    [mk(5n), mk(5n, [ca2Pem]), 'SAME_SEQUENCE_DIFFERENT_CONTENT'],
    [mk(5n), mk(undefined), 'SEQUENCE_MISSING'],
    [mk(undefined), mk(undefined, [ca2Pem]), 'accept'],
    [mk(undefined), mk(1n), 'accept'],
    [mk(1n), mk(2n, [caPem], parseTrustDomain('other.test')), 'TRUST_DOMAIN_MISMATCH'],
    [mk(2n ** 63n), mk(2n ** 64n - 1n), 'accept'],
  ];
  for (const [cur, next, want] of cases) {
    const d = acceptBundleUpdate(cur, next);
    assert.equal(d.kind === 'accept' ? 'accept' : d.code, want, `${cur?.sequence} -> ${next.sequence}`);
  }
});

test('property: acceptBundleUpdate accepts exactly the strictly growing sequences', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (a, b) => {
      const d = acceptBundleUpdate({ trustDomain: TD, x509Authorities: [caPem], sequence: a, refreshHintSeconds: 60 }, { trustDomain: TD, x509Authorities: [ca2Pem], sequence: b, refreshHintSeconds: 60 });
      assert.equal(d.kind === 'accept', b > a);
    }),
    { numRuns: 300, interruptAfterTimeLimit: 5000 },
  );
});
