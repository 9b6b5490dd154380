// L4 through two agents over real sockets and real mTLS: bytes end to end with
// half-close, one pooled session for many app connections, deny with reason,
// unknown source refused, and reconnection after the session dies.
import { test, before, after } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { startMesh, exchange, metricValue, type Mesh } from './mesh-fixture.js';
import type { SocketAddress } from '../../src/core/address.js';
import { eventually } from '../../src/core/eventually.js';

let mesh: Mesh;
const out = (hostPort: string): SocketAddress => {
  const a = mesh.a.outboundAddresses().get(hostPort);
  assert.ok(a, `outbound listener for ${hostPort}`);
  return a;
};

before(async () => {
  mesh = await startMesh();
});
after(async () => {
  await mesh?.close();
});

test('an allowed L4 connection carries app bytes both ways, with half-close', async () => {
  const r = await exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, 'hello mesh');
  assert.equal(r.data, 'echo:hello mesh');
  const r2 = await exchange(out('catalog.shop.mesh:80'), mesh.frontend.address, 'GET /items HTTP/1.1\r\nhost: catalog\r\nconnection: close\r\n\r\n');
  assert.match(r2.data, /^HTTP\/1.1 200/);
  assert.match(r2.data, /"url":"\/items"/);
  await eventually(() => mesh.flowsB.some((f) => f.verdict === 'allow' && f.port !== undefined && f.bytesIn > 0), { what: 'inbound flow record', timeoutMs: 60_000 });
  const inFlow = mesh.flowsB.find((f) => f.verdict === 'allow')!;
  assert.equal(inFlow.direction, 'inbound');
  assert.equal(inFlow.source?.toString(), mesh.frontend.spiffeId.toString());
  assert.equal(inFlow.destination?.toString(), mesh.catalog.spiffeId.toString());
  assert.equal(inFlow.service, 'shop/catalog');
  assert.equal(inFlow.sourceRegion, 'eu');
  await eventually(() => mesh.flowsA.some((f) => f.direction === 'outbound' && f.verdict === 'allow'), { what: 'outbound flow record', timeoutMs: 60_000 });
  const outFlow = mesh.flowsA.find((f) => f.verdict === 'allow' && f.port === 7000)!;
  assert.equal(outFlow.bytesOut, 'hello mesh'.length);
  assert.equal(outFlow.bytesIn, 'echo:hello mesh'.length);
  assert.equal(outFlow.status, 200);
});

test('a large transfer arrives intact both ways (flow control and backpressure)', async () => {
  const payload = randomBytes(8 << 20);
  const r = await exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, payload, 30_000);
  assert.equal(r.error, undefined);
  assert.equal(r.raw.length, payload.length + 5);
  assert.equal(r.raw.subarray(0, 5).toString(), 'echo:');
  const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  assert.equal(digest(r.raw.subarray(5)), digest(payload));
});

test('many concurrent app connections share ONE pooled mTLS session', async () => {
  const before = await metricValue(mesh.registryB, 'entente_agent_tls_sessions_total', { side: 'server' });
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, `msg-${i}`)));
  results.forEach((r, i) => assert.equal(r.data, `echo:msg-${i}`));
  assert.equal(mesh.a.poolSize(), 1);
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_pool_sessions'), 1);
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_tls_sessions_total', { side: 'client' }), 1, 'one client handshake in total');
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_sessions_total', { side: 'server' }), before, 'no new server handshake');
  assert.equal(before, 1);
});

test('an L4 deny refuses the stream with the policy reason', async () => {
  const r = await exchange(out('billing.shop.mesh:80'), mesh.frontend.address, 'GET / HTTP/1.1\r\nhost: billing\r\n\r\n');
  assert.equal(r.data, '', 'the app behind billing never answers');
  await eventually(() => mesh.flowsB.some((f) => f.verdict === 'deny'), { what: 'inbound deny record', timeoutMs: 60_000 });
  const deny = mesh.flowsB.find((f) => f.verdict === 'deny')!;
  assert.equal(deny.status, 403);
  assert.match(deny.reason ?? '', /no rule allows spiffe:\/\/eu\.test\/ns\/shop\/sa\/frontend to call shop\/billing/);
  await eventually(() => mesh.flowsA.some((f) => f.verdict === 'deny'), { what: 'outbound deny record', timeoutMs: 60_000 });
  const outDeny = mesh.flowsA.find((f) => f.verdict === 'deny')!;
  assert.equal(outDeny.status, 403);
  assert.match(outDeny.reason ?? '', /no rule allows/);
  assert.ok((await metricValue(mesh.registryB, 'entente_agent_streams_total', { direction: 'inbound', verdict: 'deny' })) >= 1);
});

test('a connection from an address that is no workload is refused and counted', async () => {
  const r = await exchange(out('catalog.shop.mesh:7000'), `${mesh.prefix}.99`, 'hi');
  assert.equal(r.data, '');
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_refused_connections_total', { reason: 'unknown_source' }), 1);
  const f = mesh.flowsA.find((x) => x.sourceAddress === `${mesh.prefix}.99`);
  assert.ok(f);
  assert.match(f.reason ?? '', /matches no workload on this node; apps must call from their Workload address/);
  // Everyone else keeps being served.
  assert.equal((await exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, 'still')).data, 'echo:still');
});

test('when the pooled session dies, the next stream reconnects', async () => {
  assert.equal((await exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, 'one')).data, 'echo:one');
  const handshakes = await metricValue(mesh.registryA, 'entente_agent_tls_sessions_total', { side: 'client' });
  await mesh.restartB();
  await eventually(() => mesh.a.poolSize() === 0, { what: 'dead session to leave the pool', timeoutMs: 60_000 });
  assert.equal((await exchange(out('catalog.shop.mesh:7000'), mesh.frontend.address, 'two')).data, 'echo:two');
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_tls_sessions_total', { side: 'client' }), handshakes + 1);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_sessions_total', { side: 'server' }), 1, 'the restarted agent B saw one new session');
});
