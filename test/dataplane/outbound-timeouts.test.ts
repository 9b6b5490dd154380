// Timeouts and retries of the outbound pipeline, through two real data planes:
// a Service "slow" with two replicas whose answer delay the test sets, and a
// TrafficPolicy compiled by the real compiler (request timeout 2 s, per-try
// timeout 300 ms, retry on gateway errors).
//  - the caller's x-entente-timeout ends a call at its deadline with 504;
//  - a per-try timeout moves the call to the other replica, within the request timeout;
//  - when every replica is slow, the attempts run out and the call ends with 504.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { startMesh, makeSnapshot, withPorts, workload, endpointOf, issueCredentials, TableAuthorizer, closeServer, portOf, metricValue, type Mesh } from './mesh-fixture.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { TrafficPolicySchema } from '../../src/policy/traffic-policy-schema.js';
import { compileTrafficPolicies } from '../../src/policy/traffic-policy.js';
import { eventually } from '../../src/core/eventually.js';
import type { ServiceRoute } from '../../src/agent/dataplane/index.js';

let mesh: Mesh;
const delays = [0, 0];
const served = [0, 0];
const apps: Server[] = [];

function startSlowApp(i: number, host: string): Promise<Server> {
  const s = createServer({ keepAlive: true }, (req, res) => {
    served[i]!++;
    req.resume();
    const answer = (): void => {
      if (res.destroyed) return;
      const body = JSON.stringify({ replica: i });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (delays[i]! > 0) setTimeout(answer, delays[i]).unref();
    else answer();
  });
  return new Promise((resolve) => s.listen(0, host, () => resolve(s)));
}

before(async () => {
  mesh = await startMesh({ httpProxy: true });
  const td = mesh.frontend.spiffeId.trustDomain;
  for (const i of [0, 1]) apps.push(await startSlowApp(i, `${mesh.prefix}.${24 + i}`));
  const replicas = [0, 1].map((i) => withPorts(workload(td, 'shop', `slow-${i}`, `${mesh.prefix}.${24 + i}`, 'slow'), [[portOf(apps[i]!), 80, 'http']]));
  for (const w of replicas) mesh.credsB.set(w, await issueCredentials(mesh.eu, w.spiffeId));
  const caller = mesh.frontend.spiffeId.toString();
  const bundles = [{ trustDomain: td, region: 'eu', pems: [mesh.eu.caCertPem] }];
  const base = mesh.snapshotB();
  await mesh.b.setSnapshot(makeSnapshot({ generation: 2, region: 'eu', trustDomain: td, workloads: [...base.localWorkloadsByName.values(), ...replicas], authorizer: new TableAuthorizer([{ caller, service: 'shop/slow' }]), bundles }));
  const policy = TrafficPolicySchema.parse({
    apiVersion: API_VERSION,
    kind: 'TrafficPolicy',
    metadata: { namespace: 'shop', name: 'slow-callers' },
    spec: { service: 'slow', timeouts: { request: '2s' }, retries: { attempts: 2, perTryTimeout: '300ms', retryOn: ['connect-failure', 'refused-stream', 'gateway-error'] } },
  });
  const traffic = compileTrafficPolicies([policy], [{ namespace: 'shop', name: 'slow', ports: [{ port: 80 }] }]);
  const a = mesh.snapshotA({ generation: 2 });
  const routes = new Map<string, ServiceRoute>(a.routes);
  routes.set('slow.shop.mesh', {
    namespace: 'shop',
    name: 'slow',
    // Replica 0 is nearer (our region), replica 1 "far": every call tries replica 0 first, until it is ejected.
    ports: new Map([[80, replicas.map((w, i) => endpointOf(w, 'node-b', mesh.b.inboundAddress, portOf(apps[i]!), i === 0 ? 'eu' : 'far'))]]),
    protocols: new Map([[80, 'http' as const]]),
  });
  await mesh.a.setSnapshot({ ...a, routes, traffic });
  await eventually(async () => (await get()).status === 200, { what: 'slow reachable', timeoutMs: 60_000 });
});

after(async () => {
  await mesh?.close();
  for (const s of apps) await closeServer(s);
});

function get(headers: Record<string, string> = {}): Promise<{ status: number; replica?: number; ms: number; reason?: string }> {
  const proxy = mesh.a.httpProxyAddress!;
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: proxy.host, port: proxy.port, path: 'http://slow.shop.mesh/x', headers: { host: 'slow.shop.mesh', ...headers }, localAddress: mesh.frontend.address, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let replica: number | undefined;
        try {
          replica = (JSON.parse(Buffer.concat(chunks).toString()) as { replica: number }).replica;
        } catch {
          replica = undefined;
        }
        const reason = res.headers['x-entente-deny-reason'];
        resolve({ status: res.statusCode ?? 0, replica, ms: Date.now() - started, reason: typeof reason === 'string' ? reason : undefined });
      });
    });
    req.on('error', () => resolve({ status: 0, ms: Date.now() - started }));
    req.end();
  });
}

test("the caller's x-entente-timeout ends the call at its deadline with 504 and the reason", async () => {
  delays[0] = delays[1] = 1500;
  try {
    const r = await get({ 'x-entente-timeout': '200ms' });
    assert.equal(r.status, 504, JSON.stringify(r));
    assert.match(r.reason ?? '', /200 ms \(the caller's deadline\)/);
    assert.ok(r.ms < 1500, `answered before the app would have (${r.ms} ms)`);
  } finally {
    delays[0] = delays[1] = 0;
  }
});

test('a per-try timeout moves a GET to the other replica, within the request timeout', async () => {
  delays[0] = 1500;
  delays[1] = 0;
  const retried = await metricValue(mesh.registryA, 'entente_agent_retries_total', { service: 'shop/slow', kind: 'retry' });
  try {
    for (let i = 0; i < 6; i++) {
      const r = await get();
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.equal(r.replica, 1, 'the fast replica answered');
      assert.ok(r.ms < 1500, `no call waited for the slow replica (${r.ms} ms)`);
    }
    assert.ok((await metricValue(mesh.registryA, 'entente_agent_retries_total', { service: 'shop/slow', kind: 'retry' })) > retried, 'the retries are counted');
  } finally {
    delays[0] = 0;
  }
});

test('with both replicas slow the attempts run out: 504 after at most three, well before the app would answer', async () => {
  delays[0] = delays[1] = 5000;
  const before = served[0]! + served[1]!;
  try {
    const r = await get();
    assert.equal(r.status, 504, JSON.stringify(r));
    // Three attempts of 300 ms plus backoff, bounded anyway by the 2 s request timeout.
    assert.ok(r.ms >= 850 && r.ms < 4500, `${r.ms} ms`);
    assert.ok(served[0]! + served[1]! - before <= 3, `${served[0]! + served[1]! - before} attempts`);
  } finally {
    delays[0] = delays[1] = 0;
  }
});
