// Signed region states: a relay cannot alter them, another region cannot sign
// them, a workload of the region cannot either, and a rotated bundle signed by
// the old key carries trust forward.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { LocalCa } from './local-ca.js';
import { EC_P256_SHA256, generateKeyPair } from './keys.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { pemBlocks } from './pem.js';
import { SignerCache, regionStateSigner, signRegionState, verifyRegionState, verifyRegionStateSignature, REGION_STATE_TYP } from './region-state.js';
import { acceptBundleUpdate, bundleToJson, parseBundleJson, type TrustBundle } from './trust-bundle.js';

const EU = parseTrustDomain('eu.test');
const US = parseTrustDomain('us.test');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
let dir: string;
let eu: LocalCa;
let us: LocalCa;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-state-'));
  eu = await LocalCa.loadOrCreate(join(dir, 'eu'), EU);
  us = await LocalCa.loadOrCreate(join(dir, 'us'), US);
});
after(() => rm(dir, { recursive: true, force: true }));

const reason = (r: { kind: 'valid' } | { kind: 'invalid'; reason: string }): string => (r.kind === 'invalid' ? r.reason : 'valid');

/** Builds a JWS by hand with any key and chain, to play the attacker. */
async function handSigned(header: object, payload: object, key: webcrypto.CryptoKey): Promise<string> {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  const sig = await webcrypto.subtle.sign(EC_P256_SHA256, key, Buffer.from(input));
  return `${input}.${Buffer.from(new Uint8Array(sig)).toString('base64url')}`;
}

test('round trip, exact numbers included', async () => {
  const jws = await signRegionState({ region: 'eu', version: 2n ** 62n, services: ['a'] }, eu);
  const r = verifyRegionState(jws, eu.bundle());
  assert.equal(r.kind, 'valid', reason(r));
  if (r.kind !== 'valid') return;
  assert.equal(r.payload.version, 2n ** 62n);
  assert.equal(r.signer.toString(), 'spiffe://eu.test/entente/region-state');
});

test('a relaying region cannot alter payload or header', async () => {
  const jws = await signRegionState({ region: 'eu', healthy: true }, eu);
  const [h, , s] = jws.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ region: 'eu', healthy: false })).toString('base64url');
  assert.match(reason(verifyRegionState(`${h}.${forgedPayload}.${s}`, eu.bundle())), /tampered/);
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
  const forgedHeader = Buffer.from(JSON.stringify({ ...header, iat: header.iat - 1 })).toString('base64url');
  assert.match(reason(verifyRegionState(`${forgedHeader}.${jws.split('.')[1]}.${s}`, eu.bundle())), /tampered/);
  assert.match(reason(verifyRegionState(jws.slice(0, -4), eu.bundle())), /tampered|base64url/);
});

test('another region cannot sign for EU, not even with an EU-looking signer ID', async () => {
  const byUs = await signRegionState({ region: 'eu' }, us);
  assert.match(reason(verifyRegionState(byUs, eu.bundle())), /UNKNOWN_TRUST_DOMAIN/);
  // US's CA refuses to issue an EU ID, so forge the certificate chain as US would: its own CA signing an EU name.
  await assert.rejects(us.issue(SpiffeId.fromParts(EU, ['entente', 'region-state']), (await generateKeyPair()).publicKey), /cannot sign/);
});

test('an EU workload SVID (not the region-state signer) cannot sign EU states', async () => {
  const keys = await generateKeyPair();
  const svid = await eu.issue(SpiffeId.forWorkload(EU, 'shop', 'web'), keys.publicKey);
  const x5c = pemBlocks(svid.chainPem, 'CERTIFICATE').map((d) => d.toString('base64'));
  const jws = await handSigned({ alg: 'ES256', typ: REGION_STATE_TYP, x5c, iat: Date.now() }, { region: 'eu' }, keys.privateKey);
  assert.match(reason(verifyRegionState(jws, eu.bundle())), /may not sign region states/);
  const none = await handSigned({ alg: 'none', typ: REGION_STATE_TYP, x5c, iat: Date.now() }, {}, keys.privateKey);
  assert.match(reason(verifyRegionState(none, eu.bundle())), /not ES256/);
});

test('a state relayed after its signer SVID expired still verifies; one dated in the future does not', async () => {
  const jws = await signRegionState({ region: 'eu' }, eu);
  assert.equal(verifyRegionState(jws, eu.bundle(), Date.now() + 6 * 60 * MIN).kind, 'valid');
  let t = Date.now() + 60 * MIN;
  const skewed = await LocalCa.loadOrCreate(join(dir, 'eu'), EU, { now: () => t });
  const future = await signRegionState({ region: 'eu' }, skewed);
  assert.match(reason(verifyRegionState(future, eu.bundle(), Date.now())), /in the future/);
  t = Date.now();
});

test('rotation: each new bundle is signed by a key of the previous one, so trust carries forward', async () => {
  let t = Date.now();
  const ca = await LocalCa.loadOrCreate(join(dir, 'rot'), parseTrustDomain('rot.test'), { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY, maxSvidTtlMs: 60 * MIN });
  // The receiver's view of rot.test, updated only through verified states.
  let known: TrustBundle = ca.bundle();
  const publish = async () => signRegionState({ bundle: JSON.parse(bundleToJson(ca.bundle())) }, ca);
  const receive = (jws: string) => {
    const r = verifyRegionState(jws, known, t);
    assert.equal(r.kind, 'valid', reason(r));
    if (r.kind !== 'valid') return;
    const next = parseBundleJson(JSON.stringify(r.payload.bundle), 'rot.test');
    if (acceptBundleUpdate(known, next).kind === 'accept') known = next;
  };
  t += 21 * DAY;
  await ca.maintain(); // new root published, old one signs
  receive(await publish());
  assert.equal(known.x509Authorities.length, 2);
  const beforeRotation = ca.bundle();
  t = ca.authorities().at(-1)!.activeFromMs + MIN; // the new root signs now
  const signedByNew = await publish();
  assert.match(reason(verifyRegionState(signedByNew, { ...beforeRotation, x509Authorities: [beforeRotation.x509Authorities[0]!] }, t)), /UNTRUSTED_CHAIN/, 'a receiver that missed the prepublished bundle cannot follow');
  receive(signedByNew);
  t += 2 * 60 * MIN;
  await ca.maintain(); // old root removed
  receive(await publish());
  assert.equal(known.x509Authorities.length, 1);
  assert.deepEqual(known.x509Authorities, ca.bundle().x509Authorities);
});

const x5cOf = (jws: string): string[] => (JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString()) as { x5c: string[] }).x5c;

test('regionStateSigner: re-signs share one signer SVID for a while; a new one after reuseMs or a CA rotation step', async () => {
  let t = Date.now();
  const ca = await LocalCa.loadOrCreate(join(dir, 'reuse'), parseTrustDomain('reuse.test'), { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY, maxSvidTtlMs: 60 * MIN });
  const sign = regionStateSigner(ca, 2 * MIN);
  const first = await sign({ region: 'reuse' });
  t += 1000;
  const second = await sign({ region: 'reuse' });
  assert.deepEqual(x5cOf(second), x5cOf(first), 'the same signer chain');
  assert.notEqual(second, first, 'a new iat');
  assert.equal(verifyRegionState(second, ca.bundle(), t).kind, 'valid');
  t += 2 * MIN;
  const later = await sign({ region: 'reuse' });
  assert.notDeepEqual(x5cOf(later), x5cOf(first), 'past reuseMs: a new key');
  t += 21 * DAY;
  await ca.maintain(); // a new root published: the bundle changed
  assert.notDeepEqual(x5cOf(await sign({ region: 'reuse' })), x5cOf(later), 'a rotation step: a new key');
});

test('SignerCache: a re-sign costs one signature check; a tamper, an expired chain or another anchor are still refused', async () => {
  let t = Date.now();
  const ca = await LocalCa.loadOrCreate(join(dir, 'cache'), parseTrustDomain('cache.test'), { now: () => t });
  const anchor = ca.bundle();
  const cache = new SignerCache();
  const sign = regionStateSigner(ca);
  const v1 = await sign({ region: 'cache', n: 1 });
  assert.equal(verifyRegionState(v1, anchor, t, cache).kind, 'valid');
  assert.equal(cache.size, 1);
  t += 1000;
  const v2 = await sign({ region: 'cache', n: 1 });
  const r = verifyRegionStateSignature(v2, anchor, t, cache);
  assert.equal(r.kind, 'valid');
  assert.equal(r.kind === 'valid' && r.signedAt.getTime(), t, 'the new signing time');
  assert.equal(cache.hits, 1, 'the chain came from the cache');

  const [h2, p2] = v2.split('.') as [string, string, string];
  const s1 = v1.split('.')[2]!;
  assert.match(reason(verifyRegionState(`${h2}.${p2}.${s1}`, anchor, t, cache)), /tampered/, 'a signature of other bytes');
  const other = Buffer.from(JSON.stringify({ region: 'cache', n: 2 })).toString('base64url');
  assert.match(reason(verifyRegionState(`${h2}.${other}.${v2.split('.')[2]!}`, anchor, t, cache)), /tampered/, 'other payload bytes');

  // A signature dated after the signer SVID expired: outside the cached interval, decided in full.
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.fromParts(ca.trustDomain, ['entente', 'region-state']), keys.publicKey, 5 * MIN);
  const x5c = pemBlocks(svid.chainPem, 'CERTIFICATE').map((d) => d.toString('base64'));
  const header = { alg: 'ES256', typ: REGION_STATE_TYP, x5c, iat: t };
  assert.equal(verifyRegionState(await handSigned(header, { region: 'cache' }, keys.privateKey), anchor, t, cache).kind, 'valid');
  const hits = cache.hits;
  const late = await handSigned({ ...header, iat: t + 10 * MIN }, { region: 'cache' }, keys.privateKey);
  assert.match(reason(verifyRegionState(late, anchor, t + 10 * MIN, cache)), /EXPIRED/);
  const early = await handSigned({ ...header, iat: t - 10 * MIN }, { region: 'cache' }, keys.privateKey);
  assert.match(reason(verifyRegionState(early, anchor, t, cache)), /NOT_YET_VALID/);
  assert.equal(cache.hits, hits, 'neither came from the cache');

  // Another anchor object: verified afresh, even with the same keys; refused when it no longer trusts the signer.
  const sameKeys = parseBundleJson(bundleToJson(anchor), 'cache.test');
  assert.equal(verifyRegionStateSignature(v2, sameKeys, t, cache).kind, 'valid');
  assert.equal(cache.hits, hits, 'a new anchor is a miss');
  const stranger = await LocalCa.loadOrCreate(join(dir, 'cache-other'), parseTrustDomain('cache.test'));
  assert.match(reason(verifyRegionStateSignature(v2, stranger.bundle(), t, cache)), /UNTRUSTED_CHAIN/);
});

test('SignerCache is bounded: the oldest entry goes', async () => {
  const cache = new SignerCache(2);
  const anchor = eu.bundle();
  for (let i = 0; i < 3; i++) assert.equal(verifyRegionState(await signRegionState({ region: 'eu', i }, eu), anchor, Date.now(), cache).kind, 'valid');
  assert.equal(cache.size, 2);
});
