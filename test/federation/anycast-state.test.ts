// The region state published to the federation carries the anycast
// announcement state: region b's controller reads its announcer's status
// endpoint, and region a sees b's announcement (and its withdrawal) in the
// state it holds of b. The announcer's endpoint is served by the real status
// server of src/anycast with a document the test controls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { eventually } from '../../src/core/eventually.js';
import { startStatusServer, type StatusDocument, type StatusServer } from '../../src/anycast/status-server.js';
import { summarizeAnnouncer } from '../../src/controller/anycast-watch.js';
import { PEERS_PORT, bundlePathOf, randomPrefix, startFixtureController, type FixtureController } from './controller-fixture.js';

let root: string;
let a: FixtureController;
let b: FixtureController;
let announcer: StatusServer;
let state: 'announced' | 'withdrawn' = 'announced';

function statusDocument(): StatusDocument {
  return {
    version: 1,
    localAs: 64512,
    routerId: '192.0.2.1',
    now: Date.now(),
    announcement: { state, since: 1_700_000_000_000, reason: state === 'announced' ? 'healthy' : 'health check failed', prefixes: ['203.0.113.10/32'], holdUntil: undefined },
    health: { healthy: state === 'announced', pending: false, streak: 3, rise: 3, fall: 2, lastRound: Date.now(), region: 'b', checks: [] },
    maintenance: false,
    flapPenalty: 0,
    sessions: [{ name: 'r1', peer: '192.0.2.254', peerAs: 64500, state: 'Established', since: 0, holdTime: 3, keepaliveMs: 1000, lastError: undefined, establishedCount: 1, updatesSent: 1, updatesReceived: 1, announced: ['203.0.113.10/32'] }],
    history: [],
  } as unknown as StatusDocument;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-anycast-state-'));
  const prefix = randomPrefix();
  announcer = await startStatusServer({ host: `${prefix}.9`, port: 0 }, statusDocument, new Registry());
  const url = `${announcer.url}/status`;
  [a, b] = await Promise.all([
    startFixtureController(root, 'a', `${prefix}.1`, [{ region: 'b', url: `https://${prefix}.2:${PEERS_PORT}`, bundle: bundlePathOf(root, 'b') }]),
    startFixtureController(root, 'b', `${prefix}.2`, [{ region: 'a', url: `https://${prefix}.1:${PEERS_PORT}`, bundle: bundlePathOf(root, 'a') }], { anycastStatusUrls: [url] }),
  ]);
});

after(async () => {
  await Promise.all([a?.running.close(), b?.running.close(), announcer?.close()]);
  await rm(root, { recursive: true, force: true });
});

type WithAnycast = { anycast?: { state: string; prefixes: string[]; sessionsEstablished: number }[] };

test("a peer region sees b's anycast announcement in b's region state, and its withdrawal", async () => {
  const seen = await eventually(
    async () => {
      const p = (await a.peer('b')) as unknown as WithAnycast | undefined;
      return p?.anycast?.[0]?.state === 'announced' ? p.anycast[0] : undefined;
    },
    { timeoutMs: 60_000, what: "a to hold b's announced state" },
  );
  assert.deepEqual(seen.prefixes, ['203.0.113.10/32']);
  assert.equal(seen.sessionsEstablished, 1);
  state = 'withdrawn';
  await eventually(async () => ((await a.peer('b')) as unknown as WithAnycast | undefined)?.anycast?.[0]?.state === 'withdrawn', {
    timeoutMs: 60_000,
    what: "a to see b's withdrawal",
  });
});

test('an unreachable announcer is carried as such, not dropped', () => {
  const s = summarizeAnnouncer('http://127.0.0.1:9/status', undefined);
  assert.equal(s.reachable, false);
  assert.equal(s.state, 'unknown');
});
