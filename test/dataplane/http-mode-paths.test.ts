// Issue 7 finding 3: in HTTP mode the app receives exactly the path that was
// authorized (normalized as Envoy's normalize_path + merge_slashes do), with
// the original query; a path the normalizer refuses is answered 400 and never
// forwarded. One case per trick, through two real agents to a real app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../src/core/eventually.js';
import { metricValue } from './mesh-fixture.js';
import { startConfigMesh, rawHttp, httpRequest, policy, workloadId, type ConfigMesh } from './config-mesh-fixture.js';

let mesh: ConfigMesh;

before(async () => {
  mesh = await startConfigMesh([
    policy('payments-charge', {
      selector: { services: ['payments'] },
      action: 'ALLOW',
      rules: [{ from: [{ principals: [workloadId('frontend')] }], to: [{ methods: ['POST'], paths: ['/charge'] }, { methods: ['GET'], paths: ['/balance/*'] }] }],
    }),
  ]);
});
after(async () => {
  await mesh?.close();
});

const send = (method: string, target: string) => rawHttp(mesh.outbound('payments'), mesh.addressOf('frontend'), httpRequest(method, target));

const FORWARDED: readonly { trick: string; method: string; target: string; want: string }[] = [
  { trick: 'dot-dot segment', method: 'POST', target: '/admin/../charge', want: '/charge' },
  { trick: 'encoded dot-dot', method: 'POST', target: '/admin/%2e%2e/charge', want: '/charge' },
  { trick: 'mixed-case encoded dot-dot', method: 'POST', target: '/admin/%2E%2e/charge', want: '/charge' },
  { trick: 'double slash', method: 'POST', target: '//charge', want: '/charge' },
  { trick: 'encoded unreserved letter', method: 'POST', target: '/ch%61rge', want: '/charge' },
  { trick: 'mixed-case escape of a reserved character is upper-cased', method: 'GET', target: '/balance/a%3ab', want: '/balance/a%3Ab' },
  { trick: 'trailing dot-dot segment', method: 'GET', target: '/balance/x/..', want: '/balance/' },
  { trick: 'trailing dot segment', method: 'GET', target: '/balance/.', want: '/balance/' },
  { trick: 'the original query is kept', method: 'POST', target: '/admin/../charge?amount=5&to=%2e%2e', want: '/charge?amount=5&to=%2e%2e' },
];

for (const c of FORWARDED) {
  test(`HTTP mode forwards the checked path: ${c.trick} (${c.method} ${c.target} -> ${c.want})`, async () => {
    const before = mesh.apps.payments.received.length;
    const flowsBefore = mesh.flowsB.length;
    const r = await send(c.method, c.target);
    assert.equal(r.status, 200, `${r.head}\n${r.body}${r.error ?? ''}`);
    const got = mesh.apps.payments.received.slice(before);
    assert.equal(got.length, 1, 'the app got exactly one request');
    assert.equal(got[0]!.method, c.method);
    assert.equal(got[0]!.url, c.want, 'the app receives the normalized path, not the raw one');
    const flow = await eventually(() => mesh.flowsB.slice(flowsBefore).find((f) => f.method === c.method), { timeoutMs: 30_000, what: 'the allow record' });
    assert.equal(flow.verdict, 'allow');
    assert.equal(flow.path, c.want.split('?')[0], 'the record names the path that was checked');
    assert.equal(flow.policy, 'shop/payments-charge');
  });
}

const REFUSED: readonly { trick: string; target: string; reason: RegExp }[] = [
  { trick: 'encoded slash', target: '/admin%2f..%2fcharge', reason: /encoded "\/"/ },
  { trick: 'malformed escape', target: '/ch%zzarge', reason: /malformed %-escape/ },
  { trick: 'absolute form', target: 'http://payments.shop.mesh/charge', reason: /does not start with "\/"/ },
];

for (const c of REFUSED) {
  test(`HTTP mode answers 400 and forwards nothing when the normalizer refuses the path: ${c.trick}`, async () => {
    const before = mesh.apps.payments.received.length;
    const flowsBefore = mesh.flowsB.length;
    const refusedBefore = await metricValue(mesh.registryB, 'entente_agent_inbound_refusals_total', { reason: 'bad_request_path' });
    const r = await send('POST', c.target);
    assert.equal(r.status, 400, `${r.head}\n${r.body}${r.error ?? ''}`);
    assert.match(r.body, c.reason);
    assert.equal(mesh.apps.payments.received.length, before, 'nothing reached the app');
    assert.equal(await metricValue(mesh.registryB, 'entente_agent_inbound_refusals_total', { reason: 'bad_request_path' }), refusedBefore + 1);
    const flow = await eventually(() => mesh.flowsB.slice(flowsBefore).find((f) => f.status === 400), { timeoutMs: 30_000, what: 'the 400 flow record' });
    assert.equal(flow.verdict, 'deny');
    assert.equal(flow.method, 'POST');
    assert.match(flow.reason ?? '', c.reason);
  });
}
