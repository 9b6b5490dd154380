// The peer API checks a client's certificate once per TLS connection: later
// requests on the same socket reuse the result, until the trust it was checked
// against changes (refreshTrust) or the clock leaves the certificate's validity.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Agent, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/core/log.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { controllerCreds } from './controller-creds.js';
import { parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { toWireBundle, type WireBundle } from '../../src/mesh/wire-bundle.js';
import { startPeerApi } from '../../src/federation/peer-api.js';
import { StateFeed } from '../../src/federation/state-feed.js';

const MIN = 60_000;
const host = `127.61.${randomInt(100, 250)}.3`;
let root: string;
let aCa: LocalCa;
let bCa: LocalCa;
let strangerA: LocalCa;
let aCreds: { key: string; cert: string };
let server: Server & { refreshTrust(): void };
let agent: Agent;
let bundles: Record<string, WireBundle>;
let clock = Date.now();
const counted: string[] = [];
const feed = new StateFeed();


before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-peerauth-'));
  aCa = await LocalCa.loadOrCreate(join(root, 'a'), parseTrustDomain('a.auth.test'));
  bCa = await LocalCa.loadOrCreate(join(root, 'b'), parseTrustDomain('b.auth.test'));
  strangerA = await LocalCa.loadOrCreate(join(root, 'a2'), parseTrustDomain('a.auth.test'));
  aCreds = await controllerCreds(aCa, 10 * MIN);
  const bCreds = await controllerCreds(bCa, 10 * MIN);
  bundles = { [aCa.trustDomain]: toWireBundle(aCa.bundle()) };
  server = await startPeerApi(
    { peerBundles: () => bundles, credentials: () => bCreds, states: (c, e) => feed.since(c, e), log: silentLogger(), count: (e) => counted.push(e), now: () => clock },
    { host, port: 0 },
  );
  // One kept-alive connection: every request below travels on the same TLS socket.
  agent = new Agent({ keepAlive: true, maxSockets: 1, key: aCreds.key, cert: aCreds.cert, ca: [...bCa.bundle().x509Authorities], checkServerIdentity: () => undefined });
});

after(async () => {
  agent?.destroy();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await rm(root, { recursive: true, force: true });
});

function get(): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`https://${host}:${(server.address() as AddressInfo).port}/v1/federation/states`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const checks = (): number => counted.filter((e) => e === 'peer_auth_checked').length;

test('one certificate check per connection; a trust change or the clock leaving the validity checks again', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get()).status, 200);
  assert.equal(checks(), 1, 'three requests, one check');

  // New trust (another peer's bundle added): the same socket is checked again, once.
  bundles = { ...bundles, [bCa.trustDomain]: toWireBundle(bCa.bundle()) };
  server.refreshTrust();
  assert.equal((await get()).status, 200);
  assert.equal((await get()).status, 200);
  assert.equal(checks(), 2);

  // Past the client certificate's notAfter: refused on the connection it was accepted on.
  clock = Date.now() + 11 * MIN;
  const late = await get();
  assert.equal(late.status, 401);
  assert.match(late.body, /EXPIRED|expired/);
  clock = Date.now();
  assert.equal((await get()).status, 200);

  // A's bundle replaced by one that does not hold A's key: the open connection is refused too.
  bundles = { ...bundles, [aCa.trustDomain]: toWireBundle(strangerA.bundle()) };
  server.refreshTrust();
  assert.equal((await get()).status, 401);
  assert.equal(counted.filter((e) => e === 'peer_auth_refused').length, 2);
});
