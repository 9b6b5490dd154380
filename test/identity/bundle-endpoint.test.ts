// https_spiffe bundle endpoints with real HTTPS servers: a genuine endpoint is
// fetched, an impostor (other trust domain, or another ID of the same domain)
// is refused before the request is sent, rotation is followed with the latest
// bundle, redirects must keep the endpoint ID, non-self-serving endpoints work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { fetchBundleHttpsSpiffe, serveBundleEndpoint, checkBundleEndpointUrl } from '../../src/identity/bundle-endpoint.js';
import type { TrustBundle } from '../../src/identity/trust-bundle.js';

const A = parseTrustDomain('a.test');
const B = parseTrustDomain('b.test');
const C = parseTrustDomain('c.test');
const ENDPOINT_A = SpiffeId.fromParts(A, ['entente', 'bundle-endpoint']);
const DAY = 86_400_000;
let dir: string;
let t = Date.now();
let caA: LocalCa;
let caB: LocalCa;
let caC: LocalCa;
const servers: https.Server[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-endpoint-'));
  caA = await LocalCa.loadOrCreate(join(dir, 'a'), A, { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY });
  caB = await LocalCa.loadOrCreate(join(dir, 'b'), B);
  caC = await LocalCa.loadOrCreate(join(dir, 'c'), C);
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  await rm(dir, { recursive: true, force: true });
});

type Handler = Parameters<typeof https.createServer>[1];
async function start(ca: LocalCa, id: SpiffeId, handler: Handler): Promise<string> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(id, keys.publicKey);
  // No requestCert: the endpoint must not require client authentication (5.2.2.3).
  const server = https.createServer({ cert: svid.chainPem, key: await privateKeyToPem(keys.privateKey) }, handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('fetches the bundle from a genuine self-serving endpoint', async () => {
  const url = await start(caA, ENDPOINT_A, serveBundleEndpoint(() => caA.bundle(), '/bundle'));
  const got = await fetchBundleHttpsSpiffe(`${url}/bundle`, ENDPOINT_A, caA.bundle(), { now: () => t });
  assert.deepEqual(got.x509Authorities, caA.bundle().x509Authorities);
  assert.equal(got.sequence, caA.bundle().sequence);
  await assert.rejects(fetchBundleHttpsSpiffe(`${url}/other`, ENDPOINT_A, caA.bundle(), { now: () => t }), /HTTP 404/);
});

test('impostors are refused: another trust domain, or another ID of the right one', async () => {
  let served = 0;
  const counting: Handler = (req, res) => {
    served++;
    serveBundleEndpoint(() => caB.bundle())(req, res);
  };
  const byB = await start(caB, SpiffeId.fromParts(B, ['entente', 'bundle-endpoint']), counting);
  await assert.rejects(fetchBundleHttpsSpiffe(byB, ENDPOINT_A, caA.bundle(), { now: () => t }), /BUNDLE_ENDPOINT_UNAUTHENTICATED|is not spiffe:\/\/a\.test/);
  const workloadOfA = await start(caA, SpiffeId.forWorkload(A, 'shop', 'web'), counting);
  await assert.rejects(fetchBundleHttpsSpiffe(workloadOfA, ENDPOINT_A, caA.bundle(), { now: () => t }), /expected spiffe:\/\/a\.test\/entente\/bundle-endpoint/);
  assert.equal(served, 0, 'no request reached an unauthenticated server');
});

test('rotation: the latest fetched bundle authenticates the endpoint after its key changed', async () => {
  let latest: TrustBundle = caA.bundle();
  const original = caA.bundle();
  t += 21 * DAY;
  await caA.maintain(); // next root published
  const url1 = await start(caA, ENDPOINT_A, serveBundleEndpoint(() => caA.bundle()));
  latest = await fetchBundleHttpsSpiffe(url1, ENDPOINT_A, latest, { now: () => t });
  assert.equal(latest.x509Authorities.length, 2);
  t = caA.authorities().at(-1)!.activeFromMs + 2 * 3_600_000;
  await caA.maintain(); // old root removed; the endpoint's new SVID is signed by the new root
  const url2 = await start(caA, ENDPOINT_A, serveBundleEndpoint(() => caA.bundle()));
  await assert.rejects(fetchBundleHttpsSpiffe(url2, ENDPOINT_A, original, { now: () => t }), /UNTRUSTED_CHAIN/, 'the stale bundle cannot follow');
  latest = await fetchBundleHttpsSpiffe(url2, ENDPOINT_A, latest, { now: () => t });
  assert.deepEqual(latest.x509Authorities, caA.bundle().x509Authorities);
});

test('redirects are followed only to an endpoint with the same SPIFFE ID', async () => {
  const real = await start(caA, ENDPOINT_A, serveBundleEndpoint(() => caA.bundle()));
  const to = (target: string): Handler => (_req, res) => res.writeHead(307, { location: target }).end();
  const good = await start(caA, ENDPOINT_A, to(`${real}/`));
  assert.ok((await fetchBundleHttpsSpiffe(good, ENDPOINT_A, caA.bundle(), { now: () => t })).x509Authorities.length > 0);
  const elsewhere = await start(caA, SpiffeId.forWorkload(A, 'x', 'y'), serveBundleEndpoint(() => caA.bundle()));
  const bad = await start(caA, ENDPOINT_A, to(elsewhere));
  await assert.rejects(fetchBundleHttpsSpiffe(bad, ENDPOINT_A, caA.bundle(), { now: () => t }), /UNAUTHENTICATED|is not/);
  const downgrade = await start(caA, ENDPOINT_A, to('http://127.0.0.1:1/'));
  await assert.rejects(fetchBundleHttpsSpiffe(downgrade, ENDPOINT_A, caA.bundle(), { now: () => t }), /must be https/);
});

test('a non-self-serving endpoint: A serves the bundle of C, authenticated with A\'s bundle', async () => {
  const url = await start(caA, ENDPOINT_A, serveBundleEndpoint(() => caC.bundle()));
  const got = await fetchBundleHttpsSpiffe(url, ENDPOINT_A, caC.bundle(), { trustDomain: C, endpointBundle: caA.bundle(), now: () => t });
  assert.equal(got.trustDomain, 'c.test');
  assert.deepEqual(got.x509Authorities, caC.bundle().x509Authorities);
  await assert.rejects(fetchBundleHttpsSpiffe(url, ENDPOINT_A, caC.bundle(), { now: () => t }), /no bundle of a\.test/);
});

test('endpoint URL rules', () => {
  assert.throws(() => checkBundleEndpointUrl('http://x.test/b'), /must be https/);
  assert.throws(() => checkBundleEndpointUrl('https://u:p@x.test/b'), /userinfo/);
  assert.equal(checkBundleEndpointUrl('https://x.test:8443/b?q=1').port, '8443');
});
