// Failure handling end to end, with real processes: a two-region lab
// (controllers, gateways, agents) and two replicas per test Service in us,
// served by this test's own HTTP servers so it can kill and slow them. The
// caller is eu's frontend (its address, its agent's HTTP proxy): every call
// crosses eu's agent, us's gateway and a us agent.
//  - one of two replicas killed under steady load: no failed call beyond
//    those in flight, and the dead one is out of rotation within a second;
//  - one replica slowed by 500 ms: within 5 s at least 90% of calls go to the other;
//  - a POST is never retried, even where GETs are (TrafficPolicy retryOn: unavailable).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import { stringify } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { eventually } from '../../src/core/eventually.js';
import type { FlowRecord } from '../../src/agent/dataplane/index.js';
import { randomIpPrefix, startTestMesh } from './lab-harness.js';

const REGIONS = ['eu', 'us'];
// Loopback range 84-99 belongs to this file (lab-harness.ts lists every file's range).
const PREFIX = randomIpPrefix(84, 99);
const APP_PORT = 18080;
const NS = 'shop';

interface Replica {
  readonly name: string;
  readonly address: string;
  readonly node: string;
  server?: Server;
  delayMs: number;
  /** Requests it received, by method. */
  readonly seen: Map<string, number>;
  /** Answer 503 to this method. */
  failMethod?: string;
}

const usNet = `${PREFIX}.2`;
const replicas = (service: string, first: number): [Replica, Replica] => [
  { name: `${service}-1`, address: `${usNet}.${first}`, node: 'us-node-1', delayMs: 0, seen: new Map() },
  { name: `${service}-2`, address: `${usNet}.${first + 1}`, node: 'us-node-2', delayMs: 0, seen: new Map() },
];
const SERVICES = { inventory: replicas('inventory', 150), pricing: replicas('pricing', 152), ordering: replicas('ordering', 154) };

function serve(r: Replica): Promise<void> {
  const server = createServer({ keepAlive: true }, (req, res) => {
    r.seen.set(req.method ?? '?', (r.seen.get(req.method ?? '?') ?? 0) + 1);
    req.resume();
    const answer = (): void => {
      const status = r.failMethod === req.method ? 503 : 200;
      const body = JSON.stringify({ replica: r.name });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (r.delayMs > 0) setTimeout(answer, r.delayMs);
    else answer();
  });
  r.server = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(APP_PORT, r.address, () => resolve());
  });
}

function kill(r: Replica): Promise<void> {
  const s = r.server;
  r.server = undefined;
  if (!s) return Promise.resolve();
  return new Promise((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  });
}

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NS }, spec });

function extraResources(uid: number): { sharedYaml: string; regionYaml: Record<string, string> } {
  const frontend = 'spiffe://eu.entente.lab/ns/shop/sa/frontend';
  const shared = [
    ...Object.keys(SERVICES).map((s) => doc('Service', s, { ports: [{ port: 80, targetPort: APP_PORT, protocol: 'http' }], export: true })),
    doc('AuthorizationPolicy', 'test-callers', { selector: { services: Object.keys(SERVICES) }, action: 'ALLOW', rules: [{ from: [{ principals: [frontend] }] }] }),
    // GETs may be retried after a 503; POSTs never are. No ejection, so POSTs keep meeting the failing replica.
    doc('TrafficPolicy', 'ordering-callers', { service: 'ordering', retries: { retryOn: ['connect-failure', 'refused-stream', 'unavailable'] }, outlierDetection: { maxEjectedPercent: 0 } }),
  ];
  const workloads = Object.entries(SERVICES).flatMap(([service, rs]) => rs.map((r) => doc('Workload', r.name, { service, serviceAccount: service, node: r.node, address: r.address, attest: { uid } })));
  return { sharedYaml: shared.join('---\n'), regionYaml: { us: workloads.join('---\n') } };
}

let lab: Lab;
let callerAddress: string;
let proxy: { host: string; port: number };
// With a timeout Node closes an idle socket a second before the proxy's announced keep-alive timeout; without one a
// call could pick a socket the proxy was closing and fail with a reset the mesh never saw (docs/dataplane.md).
const agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: 60_000 });

before(async () => {
  for (const rs of Object.values(SERVICES)) for (const r of rs) await serve(r);
  lab = await startTestMesh(REGIONS, PREFIX, { extra: extraResources(process.getuid?.() ?? 0) });
  const frontend = lab.topology.workloads.find((w) => w.service === 'frontend')!;
  callerAddress = frontend.address;
  const a = lab.topology.regions.flatMap((r) => r.agents).find((x) => x.node === frontend.node)!;
  proxy = { host: a.ip, port: PORTS.agentProxy };
  // Every test Service reachable from eu before any test starts.
  for (const s of Object.keys(SERVICES)) await eventually(async () => (await call(s, 'GET')).status === 200, { what: `${s} reachable from eu`, timeoutMs: 90_000, intervalMs: 250 });
});

after(async () => {
  agent.destroy();
  await lab?.stop();
  for (const rs of Object.values(SERVICES)) for (const r of rs) await kill(r);
});

interface Result {
  readonly status: number;
  readonly replica?: string;
  readonly at: number;
  readonly error?: string;
}

/** One call as frontend through its agent's proxy; never rejects. */
function call(service: string, method: string): Promise<Result> {
  return new Promise((resolve) => {
    const req = request(
      { host: proxy.host, port: proxy.port, method, path: `http://${service}.${NS}.mesh/item`, headers: { host: `${service}.${NS}.mesh`, 'content-length': 0 }, localAddress: callerAddress, agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let replica: string | undefined;
          try {
            replica = (JSON.parse(Buffer.concat(chunks).toString()) as { replica?: string }).replica;
          } catch {
            replica = undefined;
          }
          resolve({ status: res.statusCode ?? 0, replica, at: Date.now() });
        });
        res.on('error', (e) => resolve({ status: 0, at: Date.now(), error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ status: 0, at: Date.now(), error: e.message }));
    req.end();
  });
}

/** Steady load: `concurrency` callers in a loop until `stop()`; bounded by `maxMs` whatever happens. */
function load(service: string, concurrency: number, maxMs = 60_000): { results: Result[]; stop(): Promise<void> } {
  const results: Result[] = [];
  let running = true;
  const until = Date.now() + maxMs;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running && Date.now() < until) results.push(await call(service, 'GET'));
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function inboundFlows(node: string): Promise<FlowRecord[]> {
  const a = lab.topology.regions.flatMap((r) => r.agents).find((x) => x.node === node)!;
  return (await httpJson<FlowRecord[]>(`http://${a.ip}:${PORTS.agentMetrics}/flows`)).body ?? [];
}

test('one of two replicas killed under steady load: no failure beyond the calls in flight, and it is out of rotation within a second', async () => {
  const [dying, survivor] = SERVICES.inventory;
  const CONCURRENCY = 4;
  const l = load('inventory', CONCURRENCY);
  try {
    await eventually(() => l.results.filter((r) => r.replica === dying.name).length >= 5 && l.results.filter((r) => r.replica === survivor.name).length >= 5, { what: 'both replicas serving', timeoutMs: 60_000 });
    const killedAt = Date.now();
    await kill(dying);
    await eventually(() => l.results.filter((r) => r.at > killedAt + 2000).length >= 20, { what: 'calls after the kill', timeoutMs: 60_000 });
    await l.stop();
    const failed = l.results.filter((r) => r.at >= killedAt && r.status !== 200);
    assert.ok(failed.length <= CONCURRENCY, `at most the ${CONCURRENCY} calls in flight may fail, got ${failed.length}: ${JSON.stringify(failed.slice(0, 5))}`);
    assert.ok(l.results.filter((r) => r.at > killedAt + 1000).every((r) => r.replica === survivor.name), 'a second after the kill every call is served by the survivor');
    // The dying replica's agent saw the attempts that reached it after the kill; the last one came within a second.
    const tries = (await inboundFlows(dying.node)).filter((f) => f.service === `${NS}/inventory` && f.time >= killedAt);
    const last = Math.max(killedAt, ...tries.map((f) => f.time));
    assert.ok(last - killedAt < 1000, `the dead replica was tried until ${last - killedAt} ms after the kill`);
  } finally {
    await l.stop();
  }
});

test('one replica slowed by 500 ms: within 5 s at least 90% of calls go to the other', async () => {
  const [slow, fast] = SERVICES.pricing;
  const l = load('pricing', 4);
  try {
    await eventually(() => l.results.filter((r) => r.replica === slow.name).length >= 5 && l.results.filter((r) => r.replica === fast.name).length >= 5, { what: 'both replicas serving', timeoutMs: 60_000 });
    const slowedAt = Date.now();
    slow.delayMs = 500;
    await eventually(() => l.results.filter((r) => r.at > slowedAt + 7000).length >= 1, { what: '7 s of load after the slow-down', timeoutMs: 60_000 });
    await l.stop();
    // Calls that completed 5 s to 7 s after the slow-down.
    const window = l.results.filter((r) => r.at >= slowedAt + 5000 && r.at <= slowedAt + 7000 && r.status === 200);
    const toFast = window.filter((r) => r.replica === fast.name).length;
    assert.ok(window.length >= 10, `enough calls in the window (${window.length})`);
    assert.ok(toFast / window.length >= 0.9, `${toFast} of ${window.length} calls went to the fast replica`);
  } finally {
    slow.delayMs = 0;
    await l.stop();
  }
});

test('a POST is never retried; a GET after the same 503 is (TrafficPolicy retryOn: unavailable)', async () => {
  const [failing, healthy] = SERVICES.ordering;
  failing.failMethod = 'POST';
  for (const r of SERVICES.ordering) r.seen.clear();
  const posts: Result[] = [];
  for (let i = 0; i < 30; i++) posts.push(await call('ordering', 'POST'));
  const postsSeen = (failing.seen.get('POST') ?? 0) + (healthy.seen.get('POST') ?? 0);
  assert.equal(postsSeen, posts.length, 'every POST reached exactly one replica, once');
  assert.equal(posts.filter((r) => r.status === 503).length, failing.seen.get('POST') ?? 0, "each 503 of the failing replica reached the caller: none was retried");
  assert.equal(posts.filter((r) => r.status === 200).length, healthy.seen.get('POST') ?? 0);
  // The same replica failing GETs: they are retried on the other one, and the caller sees none of the 503s.
  failing.failMethod = 'GET';
  const gets: Result[] = [];
  for (let i = 0; i < 30; i++) gets.push(await call('ordering', 'GET'));
  assert.ok(gets.every((r) => r.status === 200), `every GET succeeded: ${JSON.stringify(gets.filter((r) => r.status !== 200).slice(0, 3))}`);
  failing.failMethod = undefined;
});
