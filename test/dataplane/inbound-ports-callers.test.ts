// Issue 7 findings 4 and 8: only a declared target port of the workload's
// Service is reachable (L4 and L7), refused with 403 naming the declared
// ports; and only workload identities (/ns/<ns>/sa/<sa>) may call, even
// through principals: ["*"] — a node or controller SVID is refused at session
// accept. A real agent, a real CA, real sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../src/core/eventually.js';
import { SpiffeId } from '../../src/identity/spiffe-id.js';
import { issueCredentials, metricValue } from './mesh-fixture.js';
import { startConfigMesh, connectDirect, httpRequest, parseRawReply, policy, workloadId, TD, type ConfigMesh } from './config-mesh-fixture.js';

let mesh: ConfigMesh;
before(async () => {
  mesh = await startConfigMesh([
    policy('payments-charge', { selector: { services: ['payments'] }, action: 'ALLOW', rules: [{ from: [{ principals: [workloadId('frontend')] }], to: [{ methods: ['POST'], paths: ['/charge'] }] }] }),
    // Anyone with an identity of ours: the wildcard that once let node and gateway SVIDs in.
    policy('reports-anyone', { selector: { services: ['reports'] }, action: 'ALLOW', rules: [{ from: [{ principals: ['*'] }] }] }),
  ]);
});
after(async () => {
  await mesh?.close();
});

const refusals = (reason: string) => metricValue(mesh.registryB, 'entente_agent_inbound_refusals_total', { reason });

for (const c of [
  { mode: 'L4 (tcp)', service: 'reports', stats: 'reportsStats', request: httpRequest('GET', '/stats') },
  { mode: 'L7 (http)', service: 'payments', stats: 'paymentsStats', request: httpRequest('POST', '/charge') },
] as const) {
  test(`${c.mode}: an allowed caller reaches the declared target port, but not another port of the same address`, async () => {
    const address = mesh.addressOf(c.service);
    const declared = mesh.apps[c.service].port;
    const ok = await connectDirect(mesh, mesh.frontendCreds, c.service, `${address}:${declared}`, c.request);
    assert.equal(ok.status, 200, `control: the declared port works (${ok.reason ?? ok.error ?? ''})`);
    assert.equal(parseRawReply(ok.data).status, 200);

    const statsBefore = mesh.apps[c.stats].received.length;
    const counted = await refusals('undeclared_port');
    const flowsBefore = mesh.flowsB.length;
    const r = await connectDirect(mesh, mesh.frontendCreds, c.service, `${address}:${mesh.apps[c.stats].port}`, c.request);
    assert.equal(r.status, 403, r.error);
    assert.match(r.reason ?? '', new RegExp(`port ${mesh.apps[c.stats].port} .*not a target port of Service shop/${c.service}.*declared: ${declared}`));
    assert.equal(mesh.apps[c.stats].received.length, statsBefore, 'the undeclared port was never reached');
    assert.equal(await refusals('undeclared_port'), counted + 1);
    const flow = await eventually(() => mesh.flowsB.slice(flowsBefore).find((f) => f.status === 403), { timeoutMs: 30_000, what: 'the refusal flow record' });
    assert.equal(flow.verdict, 'deny');
    assert.equal(flow.service, `shop/${c.service}`);
    assert.equal(flow.source?.toString(), workloadId('frontend'));
  });
}

for (const id of [`spiffe://${TD}/node/node-a`, `spiffe://${TD}/controller`, `spiffe://${TD}/ns/shop/sa/reports/extra`, `spiffe://${TD}/ns/shop`]) {
  test(`only workload identities may call: ${id} is refused at session accept despite principals: ["*"]`, async () => {
    const creds = await issueCredentials(mesh.ca, SpiffeId.parse(id));
    const reportsBefore = mesh.apps.reports.received.length;
    const counted = await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'caller_not_workload' });
    const r = await connectDirect(mesh, creds, 'reports', `${mesh.addressOf('reports')}:${mesh.apps.reports.port}`, httpRequest('GET', '/'));
    assert.equal(r.status, undefined, `no CONNECT answer for a non-workload caller (got ${String(r.status)})`);
    assert.ok(r.error, 'the session is closed');
    assert.equal(mesh.apps.reports.received.length, reportsBefore);
    assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'caller_not_workload' }), counted + 1);
  });
}

test('control: a workload identity still calls through principals: ["*"]', async () => {
  const creds = await issueCredentials(mesh.ca, SpiffeId.parse(workloadId('profile')));
  const r = await connectDirect(mesh, creds, 'reports', `${mesh.addressOf('reports')}:${mesh.apps.reports.port}`, httpRequest('GET', '/'));
  assert.equal(r.status, 200, r.reason ?? r.error);
  assert.equal(parseRawReply(r.data).status, 200);
});
