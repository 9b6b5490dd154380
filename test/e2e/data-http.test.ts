// HTTP data services through the mesh, across two regions: a primary
// (api-1) and a replica (api-2) in eu, a replica (api-3) in us, each answering
// the lag endpoint the DataRoute probes. Clients call one name,
// orders.shop.mesh, through their agents' HTTP proxy: writes reach the primary
// and come back with a consistency token; reads reach the nearest replica
// within the bound; a read presenting the token reaches only a member that has
// replayed that far (the primary while the replicas are paused, a replica once
// they catch up) and sees its write; a malformed token is refused; a paused
// replica leaves the reads and comes back; after a promotion writes follow.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { stringify } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { DataRouteView } from '../../src/controller/data-probes.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { parseConsistencyToken } from '../../src/data/consistency-token.js';
import { startOrdersServer, type OrdersServer } from './orders-http-app.js';

exitWatchdog();

// 127.247-250: this file's own (lab-harness.ts lists the ranges); third octet 241: no lab region uses it.
const prefix = randomIpPrefix(247, 250);
const host = (n: number): string => `${prefix}.241.${n}`;
const CLIENT = host(20);
const US_CLIENT = host(22);
const PORT = 8080;
const TOKEN = 'x-entente-consistency';
let servers: OrdersServer[] = [];
let lab: Lab;

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: 'entente.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec });

before(async () => {
  const primary = await startOrdersServer({ name: 'api-1', host: host(1), port: PORT });
  const primaryUrl = `http://${host(1)}:${PORT}`;
  servers = [primary, await startOrdersServer({ name: 'api-2', host: host(2), port: PORT, primaryUrl }), await startOrdersServer({ name: 'api-3', host: host(3), port: PORT, primaryUrl })];
  const shared = [
    doc('Service', 'orders-api', { ports: [{ port: PORT, targetPort: PORT, protocol: 'http' }], export: true }),
    // A generous bound: a paused replica stays within it while the read-your-writes steps run, even on a busy machine.
    doc('DataRoute', 'orders', { members: { service: 'orders-api', port: PORT }, protocol: 'http', maxLag: '8s', probe: { path: '/lag', interval: '250ms', timeout: '1s' } }),
    doc('Service', 'orders-client', { ports: [{ port: 9, targetPort: 9, protocol: 'tcp' }] }),
    doc('AuthorizationPolicy', 'orders-api-clients', { selector: { services: ['orders-api'] }, action: 'ALLOW', rules: [{ from: [{ principals: ['spiffe://eu.entente.lab/ns/shop/sa/orders-client', 'spiffe://us.entente.lab/ns/shop/sa/orders-client'] }] }] }),
  ].join('---\n');
  const eu = [
    ...[1, 2].map((n) => doc('Workload', `api-${n}`, { service: 'orders-api', serviceAccount: 'orders-api', node: 'eu-node-1', address: host(n) })),
    doc('Workload', 'orders-client-1', { service: 'orders-client', serviceAccount: 'orders-client', node: 'eu-node-2', address: CLIENT, attest: { uid: process.getuid?.() ?? 0 } }),
  ].join('---\n');
  const us = [
    doc('Workload', 'api-3', { service: 'orders-api', serviceAccount: 'orders-api', node: 'us-node-1', address: host(3) }),
    doc('Workload', 'orders-client-us', { service: 'orders-client', serviceAccount: 'orders-client', node: 'us-node-2', address: US_CLIENT, attest: { uid: process.getuid?.() ?? 0 } }),
  ].join('---\n');
  lab = await startTestMesh(['eu', 'us'], prefix, { extra: { sharedYaml: shared, regionYaml: { eu, us } } });
});
after(async () => {
  await lab?.stop();
  await Promise.all(servers.map((s) => s.close()));
});

interface Answer {
  readonly status: number;
  readonly servedBy?: string;
  readonly token?: string;
  readonly body: string;
}

/** One request to orders.shop.mesh as a client workload: from its address, through its agent's HTTP proxy. */
function call(method: string, path: string, opts: { region?: 'eu' | 'us'; headers?: Record<string, string>; body?: string } = {}): Promise<Answer | undefined> {
  const region = opts.region ?? 'eu';
  const agent = lab.topology.regions.find((r) => r.name === region)!.agents[1]!.ip;
  return new Promise((resolve) => {
    const req = request(
      { host: agent, port: PORTS.agentProxy, localAddress: region === 'eu' ? CLIENT : US_CLIENT, method, path: `http://orders.shop.mesh:${PORT}${path}`, agent: false, timeout: 10_000, headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const token = res.headers[TOKEN];
          const servedBy = res.headers['x-served-by'];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(typeof servedBy === 'string' ? { servedBy } : {}), ...(typeof token === 'string' ? { token } : {}) });
        });
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(opts.body);
  });
}

const write = (item: string, region?: 'eu' | 'us') => call('POST', '/orders', { body: JSON.stringify({ item }), ...(region ? { region } : {}) });

async function route(region = 'eu'): Promise<DataRouteView | undefined> {
  const r = await httpJson<{ data?: DataRouteView[] }>(`${lab.adminUrl(region)}/v1/status`, { timeoutMs: 5000 }).catch(() => undefined);
  return r?.body.data?.find((d) => d.route === 'shop/orders');
}

async function agentMetric(region: 'eu' | 'us', agentIndex: number, line: RegExp): Promise<number> {
  const ip = lab.topology.regions.find((r) => r.name === region)!.agents[agentIndex]!.ip;
  const text = await fetch(`http://${ip}:${PORTS.agentMetrics}/metrics`).then((r) => r.text()).catch(() => '');
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(' ') + 1)) : 0;
}

const server = (name: string): OrdersServer => servers.find((s) => s.name === name)!;

test('writes reach the primary with a token; reads the nearest replica; a token reads its write; a bad token is refused', { timeout: 240_000 }, async () => {
  const healthy = await eventually(async () => {
    const d = await route();
    return d?.primary === 'shop/api-1' && d.members.filter((m) => m.role === 'replica' && m.withinBound).length === 2 ? d : undefined;
  }, { what: 'api-1 primary, api-2 and api-3@us within the bound (eu)', timeoutMs: 90_000, intervalMs: 500 });
  assert.deepEqual(healthy.reads.order, ['shop/api-2', 'shop/api-3@us', 'shop/api-1'], 'nearest replica first, the primary last');
  assert.equal(healthy.members.find((m) => m.member === 'shop/api-1')?.position, String(server('api-1').position()), "the service's own position, in decimal");

  // A write, through the mesh: the primary takes it, and the answer carries the token of its position.
  const w1 = await eventually(async () => {
    const a = await write('first');
    return a?.status === 201 ? a : undefined;
  }, { what: 'a write through orders.shop.mesh', timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(w1.servedBy, 'api-1');
  const t1 = parseConsistencyToken(w1.token);
  assert.ok(t1.ok, `the write's answer carries a token: ${w1.token}`);
  assert.ok(t1.position >= BigInt((JSON.parse(w1.body) as { position: number }).position), 'the token is at least the write position');
  // A read without a token: the nearest replica.
  const r1 = await eventually(async () => {
    const a = await call('GET', `/orders/${(JSON.parse(w1.body) as { id: string }).id}`);
    return a?.status === 200 ? a : undefined;
  }, { what: 'the first order, read', timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(r1.servedBy, 'api-2', 'reads go to the nearest replica');

  // Read-your-writes: with both replicas paused (still within the bound), a write and an immediate read with its token.
  server('api-2').pause();
  server('api-3').pause();
  const w2 = await write('second');
  assert.equal(w2?.status, 201);
  const id2 = (JSON.parse(w2!.body) as { id: string }).id;
  const withToken = await call('GET', `/orders/${id2}`, { headers: { [TOKEN]: w2!.token! } });
  assert.equal(withToken?.status, 200, 'the token read sees its own write');
  assert.equal(withToken?.servedBy, 'api-1', 'no replica has replayed that far: the primary serves it');
  const without = await call('GET', `/orders/${id2}`);
  assert.equal(without?.servedBy, 'api-2', 'a read without a token still goes to the (paused, within the bound) replica');
  assert.equal(without?.status, 404, 'and does not see the write: the mesh routes, it does not make replication synchronous');
  // Resumed, the replicas catch up; once the controllers have seen their positions, the token's reads go to a replica again.
  server('api-2').resume();
  server('api-3').resume();
  const caughtUp = await eventually(async () => {
    const a = await call('GET', `/orders/${id2}`, { headers: { [TOKEN]: w2!.token! } });
    return a?.status === 200 && a.servedBy === 'api-2' ? a : undefined;
  }, { what: 'the token read served by api-2 once it has replayed the write', timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(caughtUp.status, 200);

  // A token that does not parse is refused, not ignored, and counted.
  const bad = await call('GET', `/orders/${id2}`, { headers: { [TOKEN]: 'e1.not-hex' } });
  assert.equal(bad?.status, 400);
  assert.match(bad?.body ?? '', /consistency token "e1.not-hex" is not of the form e1.<hex position>/);
  assert.ok((await agentMetric('eu', 1, /^entente_agent_data_calls_total\{.*kind="bad_token"/)) >= 1, 'bad tokens counted by the caller agent');
  assert.ok((await agentMetric('eu', 1, /^entente_agent_data_calls_total\{.*kind="write",to="primary"/)) >= 2, 'writes counted');
  assert.ok((await agentMetric('eu', 0, /^entente_agent_write_tokens_total\{.*result="issued"/)) >= 2, "tokens issued by the primary's agent");

  // From us: the write crosses to eu's primary and still comes back with a token.
  const wUs = await eventually(async () => {
    const a = await write('from us', 'us');
    return a?.status === 201 ? a : undefined;
  }, { what: 'a write from us', timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(wUs.servedBy, 'api-1');
  assert.ok(parseConsistencyToken(wUs.token).ok, 'a write from another region gets its token too');
});

test('a paused replica leaves the reads and comes back; after a promotion, writes follow', { timeout: 240_000 }, async () => {
  await eventually(async () => ((await route())?.reads.order[0] === 'shop/api-2' ? true : undefined), { what: 'reads from api-2 first', timeoutMs: 60_000, intervalMs: 500 });
  server('api-2').pause();
  // Writes go on, so it falls behind; past the bound (8 s, two probes) reads leave it for the next nearest, api-3 in us.
  const writer = setInterval(() => void write('tick'), 300);
  try {
    const away = await eventually(async () => {
      const a = await call('GET', '/orders/none');
      return a?.servedBy === 'api-3' ? a : undefined;
    }, { what: 'reads served by api-3@us while api-2 is paused', timeoutMs: 90_000, intervalMs: 500 });
    assert.equal(away.status, 404);
    server('api-2').resume();
    await eventually(async () => ((await call('GET', '/orders/none'))?.servedBy === 'api-2' ? true : undefined), { what: 'reads back on api-2 once it caught up', timeoutMs: 90_000, intervalMs: 500 });
  } finally {
    clearInterval(writer);
  }

  // Promotion: the primary stops, api-2 takes over as primary; writes follow it.
  await server('api-1').close();
  server('api-2').promote();
  const promoted = await eventually(async () => {
    const a = await write('after promotion');
    return a?.status === 201 && a.servedBy === 'api-2' ? a : undefined;
  }, { what: 'writes taken by the promoted api-2', timeoutMs: 60_000, intervalMs: 250 });
  assert.ok(parseConsistencyToken(promoted.token).ok, "the promoted primary's writes get tokens");
  const d = await route();
  assert.equal(d?.primary, 'shop/api-2');
  assert.equal(d?.members.find((m) => m.member === 'shop/api-1')?.role, 'unreachable');
});
