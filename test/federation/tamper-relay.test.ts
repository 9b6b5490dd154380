// A real controller A whose only peer B is compromised: B holds its own CA and
// relays whatever it likes for region C (which A never reaches). A accepts
// only what C signed, checked against C's bundle, and says what it refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:https';
import { eventually } from '../../src/core/eventually.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { controllerCreds } from './controller-creds.js';
import { parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { signRegionState } from '../../src/identity/region-state.js';
import { bundleToJson } from '../../src/identity/trust-bundle.js';
import { toWireBundle } from '../../src/mesh/wire-bundle.js';
import type { RegionState } from '../../src/mesh/mesh-config.js';
import { PEERS_PORT, randomPrefix, startFixtureController, trustDomainOf, type FixtureController } from './controller-fixture.js';

let root: string;
let a: FixtureController;
let evilB: Server;
let bCa: LocalCa;
let cCa: LocalCa;
/** What the compromised B serves at GET /v1/federation/states. */
let relayed: string[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-tamper-'));
  const prefix = randomPrefix();
  bCa = await LocalCa.loadOrCreate(join(root, 'b-ca'), parseTrustDomain(trustDomainOf('b')));
  cCa = await LocalCa.loadOrCreate(join(root, 'c-ca'), parseTrustDomain(trustDomainOf('c')));
  await writeFile(join(root, 'b.bundle.json'), bundleToJson(bCa.bundle()));
  await writeFile(join(root, 'c.bundle.json'), bundleToJson(cCa.bundle()));
  // B's controller identity is genuine: B is a federated region, just a malicious one.
  const creds = await controllerCreds(bCa);
  evilB = createServer({ ...creds, minVersion: 'TLSv1.3' }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ states: relayed }));
  });
  await new Promise<void>((resolve) => evilB.listen(PEERS_PORT, `${prefix}.2`, resolve));
  a = await startFixtureController(root, 'a', `${prefix}.1`, [
    { region: 'b', url: `https://${prefix}.2:${PEERS_PORT}`, bundle: join(root, 'b.bundle.json') },
    { region: 'c', bundle: join(root, 'c.bundle.json') },
  ]);
});

after(async () => {
  await a?.running.close();
  evilB?.closeAllConnections();
  await new Promise((r) => evilB?.close(r));
  await rm(root, { recursive: true, force: true });
});

function cState(version: number, over: Partial<RegionState> = {}): RegionState {
  return {
    region: 'c',
    trustDomain: cCa.trustDomain,
    version,
    generatedAt: new Date().toISOString(),
    bundle: toWireBundle(cCa.bundle()),
    gateways: ['10.0.3.1:15443'],
    exportedServices: [{ namespace: 'shop', name: 'ledger', ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], endpoints: [] }],
    policyDigest: 'sha256:c',
    healthy: true,
    ...over,
  };
}

const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> => eventually(probe, { timeoutMs: 60_000, intervalMs: 100, what });

test('a genuine relayed state of C is accepted; tampered and forged ones are refused, counted and explained', async () => {
  relayed = [await signRegionState(cState(1), cCa)];
  const first = await until('A to accept C through B', async () => {
    const p = await a.peer('c');
    return p?.version === 1 && p;
  });
  assert.equal(first.via, 'b');
  assert.deepEqual(first.exportedServices, ['shop/ledger']);

  // 1. B alters C's genuine state (redirects C's traffic) and bumps the version.
  const [h, , s] = relayed[0]!.split('.') as [string, string, string];
  const altered = Buffer.from(JSON.stringify({ ...cState(2), exportedServices: [{ namespace: 'shop', name: 'evil', ports: [], endpoints: [] }] })).toString('base64url');
  relayed = [`${h}.${altered}.${s}`];
  const tamper = await until('A to refuse the altered state', async () => {
    const b = await a.peer('b');
    return b?.lastRejected?.includes('tampered') && b;
  });
  assert.match(tamper.lastRejected!, /^c: /);

  // 2. B signs a state for C with its own CA, carrying a bundle of B's keys for c.
  const bundleOfB = { ...toWireBundle(bCa.bundle()) };
  relayed = [await signRegionState(cState(3, { bundle: bundleOfB }), bCa)];
  await until('A to refuse a state for C signed by B', async () => (await a.peer('b'))?.lastRejected?.includes('not trusted by the previous bundle of c.fed.test'));

  // 3. B mints its own "c.fed.test" CA and signs a state (and bundle) with it.
  const fakeC = await LocalCa.loadOrCreate(join(root, 'fake-c-ca'), parseTrustDomain(trustDomainOf('c')));
  relayed = [await signRegionState({ ...cState(4), bundle: toWireBundle(fakeC.bundle()) }, fakeC)];
  await until('A to refuse a forged bundle for C', async () => (await a.peer('b'))?.lastRejected?.includes('UNTRUSTED_CHAIN'));

  const still = await a.peer('c');
  assert.equal(still?.version, 1, "C's state is the genuine one");
  assert.deepEqual(still?.exportedServices, ['shop/ledger']);
  assert.ok((await a.peer('b'))!.rejected >= 3);
  assert.equal((await a.peer('b'))?.reachable, true, 'B is reachable; only what it relays is refused');

  // C's next genuine state still goes through the same relay.
  relayed = [await signRegionState(cState(5), cCa)];
  await until('A to accept C\'s next genuine state', async () => (await a.peer('c'))?.version === 5);
});
