// The SPIFFE Federation bundle endpoint (https_spiffe) between controllers:
// B serves its bundle to anyone (curl, no client certificate); A follows B's
// bundle from it. A also follows a SPIRE-like endpoint through a key rotation,
// each new bundle fetched over TLS authenticated by the bundle held before,
// and refuses an impostor endpoint and a rolled-back bundle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:https';
import { eventually } from '../../src/core/eventually.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { serveBundleEndpoint } from '../../src/identity/bundle-endpoint.js';
import { bundleToJson, parseBundleJson, type TrustBundle } from '../../src/identity/trust-bundle.js';
import { bundlePathOf, randomPrefix, startFixtureController, trustDomainOf, type FixtureController, type PeerView } from './controller-fixture.js';

const run = promisify(execFile);
const ENDPOINT_PORT = 8443;
const S_ID = `spiffe://${trustDomainOf('s')}/spire/server`;
let root: string;
let prefix: string;
let a: FixtureController;
let b: FixtureController;
let standIn: Server;
/** What the SPIRE-like endpoint serves, and with which key it authenticates. */
let served: TrustBundle;
let k1: LocalCa;
let k2: LocalCa;

async function serverIdentity(ca: LocalCa): Promise<{ key: string; cert: string }> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.parse(S_ID), keys.publicKey);
  return { key: await privateKeyToPem(keys.privateKey), cert: svid.chainPem };
}

const bundleOf = (cas: LocalCa[], sequence: bigint): TrustBundle => ({
  trustDomain: parseTrustDomain(trustDomainOf('s')),
  x509Authorities: cas.map((c) => c.caCertPem),
  sequence,
  refreshHintSeconds: 1,
  jwtAuthorities: [],
});

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-bundle-ep-'));
  prefix = randomPrefix();
  b = await startFixtureController(root, 'b', `${prefix}.2`, [], { bundleEndpointPort: ENDPOINT_PORT });
  // A's bootstrap bundle for B is an older copy (same key, lower sequence): the endpoint brings the current one.
  const bBundle = parseBundleJson(await readFile(bundlePathOf(root, 'b'), 'utf8'), trustDomainOf('b'));
  await writeFile(join(root, 'b.old.bundle.json'), bundleToJson({ ...bBundle, sequence: bBundle.sequence! - 5n }));

  k1 = await LocalCa.loadOrCreate(join(root, 's-k1'), parseTrustDomain(trustDomainOf('s')));
  k2 = await LocalCa.loadOrCreate(join(root, 's-k2'), parseTrustDomain(trustDomainOf('s')));
  served = bundleOf([k1], 1n);
  await writeFile(join(root, 's.bundle.json'), bundleToJson(served));
  standIn = createServer({ ...(await serverIdentity(k1)), minVersion: 'TLSv1.2' }, serveBundleEndpoint(() => served, '/'));
  await new Promise<void>((resolve) => standIn.listen(ENDPOINT_PORT, `${prefix}.3`, resolve));

  a = await startFixtureController(root, 'a', `${prefix}.1`, [
    { region: 'b', bundle: join(root, 'b.old.bundle.json'), bundleEndpoint: { url: `https://${prefix}.2:${ENDPOINT_PORT}/`, spiffeId: `spiffe://${trustDomainOf('b')}/controller` } },
    { region: 's', bundle: join(root, 's.bundle.json'), bundleEndpoint: { url: `https://${prefix}.3:${ENDPOINT_PORT}/`, spiffeId: S_ID } },
  ]);
});

after(async () => {
  await Promise.all([a?.running.close(), b?.running.close()]);
  standIn?.closeAllConnections();
  await new Promise((r) => standIn?.close(r));
  await rm(root, { recursive: true, force: true });
});

const peerUntil = (region: string, what: string, ok: (p: PeerView) => boolean): Promise<PeerView> =>
  eventually(
    async () => {
      const p = await a.peer(region);
      return p && ok(p) && p;
    },
    { timeoutMs: 60_000, intervalMs: 100, what },
  );

test("a controller serves its bundle endpoint to anyone, and a peer follows the bundle from it", async () => {
  // No client certificate: any SPIFFE implementation may fetch it (-k: the server is named by a SPIFFE ID, not a host name).
  const { stdout } = await run('curl', ['-s', '-k', '-m', '5', `https://${prefix}.2:${ENDPOINT_PORT}/`]);
  const fetched = parseBundleJson(stdout, trustDomainOf('b'));
  const onDisk = parseBundleJson(await readFile(bundlePathOf(root, 'b'), 'utf8'), trustDomainOf('b'));
  assert.deepEqual(fetched.x509Authorities, onDisk.x509Authorities);
  assert.equal(fetched.sequence, onDisk.sequence);

  const p = await peerUntil('b', "A to take B's current bundle from its endpoint", (x) => x.bundleSequence === onDisk.sequence!.toString());
  assert.equal(p.bundleEndpoint?.lastError, undefined);
  assert.equal(p.relayOnly, true, 'A pulls no states from B: only its bundle');
});

test('a SPIRE-like endpoint is followed through a key rotation; an impostor and a rollback are refused', async () => {
  await peerUntil('s', 'A to reach the endpoint with its bootstrap bundle', (x) => x.bundleSequence === '1' && x.bundleEndpoint?.lastSequence === '1');
  // Prepublish K2, still authenticated by K1.
  served = bundleOf([k1, k2], 2n);
  await peerUntil('s', 'A to take the bundle with K2 prepublished', (x) => x.bundleSequence === '2');
  // The endpoint now presents an SVID from K2 and retires K1: A trusts K2 because it held {K1, K2}.
  standIn.setSecureContext({ ...(await serverIdentity(k2)), minVersion: 'TLSv1.2' });
  served = bundleOf([k2], 3n);
  await peerUntil('s', 'A to take the bundle without K1', (x) => x.bundleSequence === '3');
  // Replaying an older bundle (K1 back) is refused.
  served = bundleOf([k1, k2], 2n);
  const rolledBack = await peerUntil('s', 'A to refuse the rolled-back bundle', (x) => /NOT_NEWER/.test(x.bundleEndpoint?.lastError ?? ''));
  assert.equal(rolledBack.bundleSequence, '3');
  // An impostor with its own "s.fed.test" CA: refused during the handshake, before any request.
  const impostor = await LocalCa.loadOrCreate(join(root, 's-impostor'), parseTrustDomain(trustDomainOf('s')));
  standIn.setSecureContext({ ...(await serverIdentity(impostor)), minVersion: 'TLSv1.2' });
  served = bundleOf([impostor], 9n);
  const refused = await peerUntil('s', 'A to refuse the impostor endpoint', (x) => /BUNDLE_ENDPOINT_UNAUTHENTICATED|is not spiffe:/.test(x.bundleEndpoint?.lastError ?? ''));
  assert.equal(refused.bundleSequence, '3', 'the bundle A holds for s is unchanged');
});
