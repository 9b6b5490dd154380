// Delta pulls over real mTLS: a PeerSync (A) against a real peer API (B) that
// relays C: the first pull is full, later ones carry since/epoch and get only
// what changed; a rejected state is asked for again (the cursor stays); a bad
// query is a 400 naming the parameter; and a peer of the old format (no cursor,
// no epoch, or one downgraded to it) still syncs with full pulls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/core/log.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { controllerCreds } from './controller-creds.js';
import { parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { signRegionState } from '../../src/identity/region-state.js';
import { bundleToJson } from '../../src/identity/trust-bundle.js';
import { toWireBundle } from '../../src/mesh/wire-bundle.js';
import type { RegionState } from '../../src/mesh/mesh-config.js';
import type { PeerConfig } from '../../src/controller/controller-config.js';
import { FederationState } from '../../src/federation/federation-state.js';
import { PeerSync } from '../../src/federation/peer-sync.js';
import { startPeerApi } from '../../src/federation/peer-api.js';
import { StateFeed, type FeedAnswer } from '../../src/federation/state-feed.js';

const prefix = `127.61.${randomInt(100, 250)}`;
let root: string;
let aCa: LocalCa;
let bCa: LocalCa;
let cCa: LocalCa;
let aCreds: { key: string; cert: string };
let bCreds: { key: string; cert: string };
let peerApi: Server & { refreshTrust(): void };
let oldServer: Server;
const feed = new StateFeed();
/** What B's peer API was asked (cursor, epoch) and how many states it answered. */
const asked: { cursor: number | undefined; epoch: string | undefined; sent: number }[] = [];
/** What the old-format server answers, and the URLs it was asked for. */
let oldBody: unknown = { states: [] };
const oldUrls: string[] = [];
/** The old server compared the URL strictly: a query got a 404. */
let oldStrict = false;
/** The server closes a kept-alive connection when a second request arrives on it (the idle-close race, made certain). */
let dropReused = false;
const served = new WeakSet<object>();
let n = 0;


const urlOf = (s: Server): string => `https://${prefix}.2:${(s.address() as AddressInfo).port}`;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-delta-'));
  aCa = await LocalCa.loadOrCreate(join(root, 'a-ca'), parseTrustDomain('a.delta.test'));
  bCa = await LocalCa.loadOrCreate(join(root, 'b-ca'), parseTrustDomain('b.delta.test'));
  cCa = await LocalCa.loadOrCreate(join(root, 'c-ca'), parseTrustDomain('c.delta.test'));
  await writeFile(join(root, 'b.bundle.json'), bundleToJson(bCa.bundle()));
  await writeFile(join(root, 'c.bundle.json'), bundleToJson(cCa.bundle()));
  aCreds = await controllerCreds(aCa);
  bCreds = await controllerCreds(bCa);
  peerApi = await startPeerApi(
    {
      peerBundles: () => ({ [aCa.trustDomain]: toWireBundle(aCa.bundle()) }),
      credentials: () => bCreds,
      states: (cursor, epoch): FeedAnswer => {
        const answer = feed.since(cursor, epoch, 'b');
        asked.push({ cursor, epoch, sent: answer.states.length });
        return answer;
      },
      log: silentLogger(),
      count: () => undefined,
    },
    { host: `${prefix}.2`, port: 0 },
  );
  oldServer = createServer({ key: bCreds.key, cert: bCreds.cert, minVersion: 'TLSv1.3' }, (req, res) => {
    oldUrls.push(req.url ?? '');
    if (dropReused && served.has(req.socket)) return void req.socket.destroy();
    served.add(req.socket);
    if (oldStrict && req.url !== '/v1/federation/states') return void res.writeHead(404).end('{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(oldBody));
  });
  await new Promise<void>((resolve) => oldServer.listen(0, `${prefix}.2`, resolve));
});

after(async () => {
  peerApi?.closeAllConnections();
  oldServer?.closeAllConnections();
  await Promise.all([new Promise((r) => peerApi?.close(r)), new Promise((r) => oldServer?.close(r))]);
  await rm(root, { recursive: true, force: true });
});

function state(ca: LocalCa, region: string, version: number): RegionState {
  return {
    region,
    trustDomain: ca.trustDomain,
    version,
    generatedAt: new Date().toISOString(),
    bundle: toWireBundle(ca.bundle()),
    gateways: ['10.0.3.1:15443'],
    exportedServices: [{ namespace: 'shop', name: `ledger-${version}`, ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], endpoints: [] }],
    policyDigest: 'sha256:c',
    healthy: true,
  };
}

/** Receiver A: its own state directory, B pulled at `url`, C relay-only. */
function receiver(url: string): { a: FederationState; sync: PeerSync; peer: PeerConfig } {
  const peer: PeerConfig = { region: 'b', trustDomain: bCa.trustDomain, url, bundle: join(root, 'b.bundle.json') };
  const a = new FederationState({ dir: join(root, `a-${n++}`), ownRegion: 'a', peers: [peer, { region: 'c', trustDomain: cCa.trustDomain, bundle: join(root, 'c.bundle.json') }], staleAfterMs: 10_000 });
  const sync = new PeerSync({ peers: [peer], state: a, intervalMs: 60_000, credentials: () => aCreds, log: silentLogger(), onAccepted: () => undefined });
  return { a, sync, peer };
}

test('after a full first pull, each pull carries since/epoch and gets only the states that changed', async () => {
  feed.put('b', await signRegionState(state(bCa, 'b', 1), bCa));
  feed.put('c', await signRegionState(state(cCa, 'c', 1), cCa));
  const { a, sync, peer } = receiver(urlOf(peerApi));

  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: undefined, epoch: undefined, sent: 2 }, 'first pull: no query, every state');
  assert.equal(a.stateOf('b')?.version, 1);
  assert.equal(a.stateOf('c')?.version, 1);

  feed.put('c', await signRegionState(state(cCa, 'c', 2), cCa));
  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: 2, epoch: feed.epoch, sent: 1 }, 'only C changed');
  assert.equal(a.stateOf('c')?.version, 2);

  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: 3, epoch: feed.epoch, sent: 0 }, 'nothing changed: nothing sent');

  // B relays a tampered C: refused, and the cursor stays, so the same delta comes again.
  const [h, , s] = (await signRegionState(state(cCa, 'c', 3), cCa)).split('.') as [string, string, string];
  feed.put('c', `${h}.${Buffer.from(JSON.stringify({ ...state(cCa, 'c', 3), gateways: ['10.6.6.6:15443'] })).toString('base64url')}.${s}`);
  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: 3, epoch: feed.epoch, sent: 1 });
  assert.equal(sync.status()[0]?.rejected, 1);
  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: 3, epoch: feed.epoch, sent: 1 }, 'a rejected answer does not advance the cursor');

  feed.put('c', await signRegionState(state(cCa, 'c', 4), cCa));
  await sync.pullOnce(peer);
  assert.equal(a.stateOf('c')?.version, 4);
  await sync.pullOnce(peer);
  assert.deepEqual(asked.at(-1), { cursor: 5, epoch: feed.epoch, sent: 0 }, 'advanced again once the answer was clean');
  sync.stop();
});

/** GET `path` from B's peer API as A's controller. */
function get(path: string): Promise<{ status: number; body: { error?: { code: string; message: string }; cursor?: number; epoch?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${urlOf(peerApi)}${path}`, { key: aCreds.key, cert: aCreds.cert, ca: [...bCa.bundle().x509Authorities], checkServerIdentity: () => undefined, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as never }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a bad since or epoch is a 400 naming the parameter; other paths stay 404; a full answer carries cursor and epoch', async () => {
  const badSince = await get('/v1/federation/states?since=soon&epoch=e');
  assert.equal(badSince.status, 400);
  assert.match(badSince.body.error!.message, /^query parameter since: /);
  const noEpoch = await get('/v1/federation/states?since=1');
  assert.equal(noEpoch.status, 400);
  assert.match(noEpoch.body.error!.message, /^query parameter epoch: /);
  assert.equal((await get('/v1/federation/other')).status, 404);
  const full = await get('/v1/federation/states');
  assert.equal(full.status, 200);
  assert.equal(full.body.epoch, feed.epoch);
  assert.equal(full.body.cursor, feed.cursor);
  const otherEpoch = await get('/v1/federation/states?since=1&epoch=restarted');
  assert.equal((otherEpoch.body as { states: string[] }).states.length, 2, 'a cursor of another epoch gets every state');
});

test('a peer of the old format (no cursor, no epoch) keeps getting full pulls, and still syncs', async () => {
  oldBody = { states: [await signRegionState(state(bCa, 'b', 1), bCa), await signRegionState(state(cCa, 'c', 1), cCa)] };
  const { a, sync, peer } = receiver(urlOf(oldServer));
  await sync.pullOnce(peer);
  await sync.pullOnce(peer);
  assert.deepEqual(oldUrls, ['/v1/federation/states', '/v1/federation/states']);
  assert.equal(a.stateOf('c')?.version, 1);
  oldBody = { states: [await signRegionState(state(cCa, 'c', 2), cCa)] };
  await sync.pullOnce(peer);
  assert.equal(a.stateOf('c')?.version, 2, 'a change arrives with the next full pull');

  // A cursor of the wrong type, or a cursor without an epoch, is no feed: full pulls again.
  for (const bad of [{ cursor: '7', epoch: 'e' }, { cursor: 7 }, { cursor: 7, epoch: 7 }, { cursor: -1, epoch: 'e' }]) {
    oldBody = { states: [], ...bad };
    await sync.pullOnce(peer);
    await sync.pullOnce(peer);
    assert.equal(oldUrls.at(-1), '/v1/federation/states', JSON.stringify(bad));
  }
  oldBody = { states: [], cursor: 7, epoch: 'e' };
  await sync.pullOnce(peer);
  await sync.pullOnce(peer);
  assert.equal(oldUrls.at(-1), '/v1/federation/states?since=7&epoch=e', 'a valid position is used');
  assert.equal(sync.status()[0]?.reachable, true);

  // The peer is downgraded to a version that 404s on a query: one failed pull, then full pulls again.
  oldStrict = true;
  oldBody = { states: [] };
  await sync.pullOnce(peer);
  assert.match(sync.status()[0]?.lastError ?? '', /HTTP 404/);
  await sync.pullOnce(peer);
  assert.equal(oldUrls.at(-1), '/v1/federation/states');
  assert.equal(sync.status()[0]?.reachable, true);
  sync.stop();
});

test('a kept-alive connection the peer closed is not an outage: the pull is sent again on a fresh one', async () => {
  oldStrict = false;
  oldBody = { states: [await signRegionState(state(bCa, 'b', 1), bCa)] };
  const { a, sync, peer } = receiver(urlOf(oldServer));
  await sync.pullOnce(peer);
  assert.equal(sync.status()[0]?.reachable, true);
  dropReused = true;
  try {
    const before = oldUrls.length;
    oldBody = { states: [await signRegionState(state(bCa, 'b', 2), bCa)] };
    await sync.pullOnce(peer);
    assert.equal(oldUrls.length - before, 2, 'the reused connection was dropped, then a fresh one served');
    assert.equal(sync.status()[0]?.reachable, true, sync.status()[0]?.lastError);
    assert.equal(a.stateOf('b')?.version, 2);
  } finally {
    dropReused = false;
    sync.stop();
  }
});
