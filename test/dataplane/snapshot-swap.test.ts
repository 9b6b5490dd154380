// Snapshot swaps: outbound listeners are reconciled (new opened, removed
// closed, unchanged kept on the same port), a rotated SVID moves new streams to
// a new pooled session, and revoking a trust domain cuts its live sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startMesh, exchange, metricValue, issueCredentials, makeSnapshot, type Mesh } from './mesh-fixture.js';
import type { SocketAddress } from '../../src/core/address.js';
import type { OutboundPort } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { eventually } from '../../src/core/eventually.js';

let mesh: Mesh;
before(async () => {
  mesh = await startMesh();
});
after(async () => {
  await mesh?.close();
});

function refused(a: SocketAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(a.port, a.host);
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

test('a snapshot swap adds and removes outbound listeners and keeps unchanged ones', async () => {
  const before = mesh.a.outboundAddresses();
  const echo = before.get('catalog.shop.mesh:7000');
  const billing = before.get('billing.shop.mesh:80');
  assert.ok(echo && billing);
  const p = mesh.prefix;
  const ports: OutboundPort[] = [
    { listen: { host: `${p}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 7000 }, // unchanged
    { listen: { host: `${p}.1`, port: 0 }, host: 'orders.shop.mesh', port: 80 }, // new
  ];
  await mesh.a.setSnapshot(mesh.snapshotA({ outboundPorts: ports, generation: 2 }));
  const after = mesh.a.outboundAddresses();
  assert.deepEqual([...after.keys()].sort(), ['catalog.shop.mesh:7000', 'orders.shop.mesh:80']);
  assert.deepEqual(after.get('catalog.shop.mesh:7000'), echo, 'unchanged listener kept its port');
  assert.ok(await refused(billing), 'removed listener no longer accepts');
  assert.equal((await exchange(echo, mesh.frontend.address, 'kept')).data, 'echo:kept');
  const orders = after.get('orders.shop.mesh:80');
  assert.ok(orders);
  const r = await exchange(orders, mesh.frontend.address, 'GET /public/x HTTP/1.1\r\nhost: orders\r\nconnection: close\r\n\r\n');
  assert.match(r.data, /^HTTP\/1\.1 200/);
  // And back: the orders listener goes away again.
  await mesh.a.setSnapshot(mesh.snapshotA({ outboundPorts: ports.slice(0, 1), generation: 3 }));
  assert.deepEqual([...mesh.a.outboundAddresses().keys()], ['catalog.shop.mesh:7000']);
  assert.ok(await refused(orders));
});

test('a rotated SVID: new streams go over a new session, the old one drains', async () => {
  const echo = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000');
  assert.ok(echo);
  assert.equal((await exchange(echo, mesh.frontend.address, 'before')).data, 'echo:before');
  const handshakes = await metricValue(mesh.registryA, 'entente_agent_tls_sessions_total', { side: 'client' });
  const pooled = await metricValue(mesh.registryA, 'entente_agent_pool_sessions');
  mesh.credsA.set(mesh.frontend, await issueCredentials(mesh.eu, mesh.frontend.spiffeId));
  assert.equal((await exchange(echo, mesh.frontend.address, 'after')).data, 'echo:after');
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_tls_sessions_total', { side: 'client' }), handshakes + 1);
  await eventually(async () => (await metricValue(mesh.registryA, 'entente_agent_pool_sessions')) === pooled, { what: 'old session to drain', timeoutMs: 60_000 });
});

test('revoking a trust domain cuts live inbound sessions from it', async () => {
  const echo = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000');
  assert.ok(echo);
  assert.equal((await exchange(echo, mesh.frontend.address, 'x')).data, 'echo:x');
  const base = mesh.snapshotB();
  // Agent B stops trusting eu.test (its own domain, for the test's sake): every session from eu is cut.
  const revoked = makeSnapshot({
    generation: 9,
    region: base.region,
    trustDomain: base.trustDomain,
    workloads: [...base.localWorkloadsByName.values()],
    authorizer: base.authorizer,
    bundles: [{ trustDomain: mesh.us.trustDomain, region: 'us', pems: [mesh.us.caCertPem] }],
  });
  await mesh.b.setSnapshot(revoked);
  assert.ok((await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'trust_revoked' })) >= 1);
  await eventually(() => mesh.a.poolSize() === 0, { what: 'agent A to notice', timeoutMs: 60_000 });
  const r = await exchange(echo, mesh.frontend.address, 'y');
  assert.equal(r.data, '', 'refused now');
  await mesh.b.setSnapshot(base);
  assert.equal((await exchange(echo, mesh.frontend.address, 'z')).data, 'echo:z', 'and served again once trusted');
});

test('an unreachable endpoint is skipped: the connection fails over to the next one', async () => {
  const base = mesh.snapshotA();
  const live = base.routes.get('catalog.shop.mesh')!.ports.get(7000)![0]!;
  // The dead endpoint is in our region, the live one farther away: the balancer tries the nearer one first.
  const dead = { ...live, dial: { host: `${mesh.prefix}.5`, port: 9 } };
  const far = { ...live, region: 'far' };
  const snap = makeSnapshot({
    generation: 20,
    region: 'eu',
    trustDomain: base.trustDomain,
    workloads: [mesh.frontend],
    routes: new Map([['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[7000, [far, dead]]]) }]]),
    outboundPorts: [{ listen: { host: `${mesh.prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 7000 }],
    authorizer: base.authorizer,
    bundles: [{ trustDomain: base.trustDomain, region: 'eu', pems: [mesh.eu.caCertPem] }],
  });
  await mesh.a.setSnapshot(snap);
  const echo = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000');
  assert.ok(echo);
  const failuresBefore = await metricValue(mesh.registryA, 'entente_agent_tls_handshake_failures_total');
  // Every connection must succeed: the first ones try the dead endpoint and fail over, later ones find it ejected.
  for (let i = 0; i < 6; i++) assert.equal((await exchange(echo, mesh.frontend.address, `f${i}`)).data, `echo:f${i}`);
  assert.ok((await metricValue(mesh.registryA, 'entente_agent_tls_handshake_failures_total')) > failuresBefore, 'the dead endpoint was tried');
  assert.ok((await metricValue(mesh.registryA, 'entente_agent_retries_total', { service: 'shop/catalog', kind: 'failover' })) >= 1, 'the failover is counted');
  assert.ok((await metricValue(mesh.registryA, 'entente_agent_outlier_ejections_total', { service: 'shop/catalog' })) >= 1, 'three failures in a row ejected the dead endpoint');
  const flows = mesh.flowsA.filter((f) => f.service === 'shop/catalog' && f.port === 7000 && f.verdict === 'allow').slice(-6);
  assert.ok(flows.every((f) => f.destinationRegion === 'far'), 'each connection was carried by the live endpoint');
});
