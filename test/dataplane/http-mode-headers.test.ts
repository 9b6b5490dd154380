// Issue 7 finding 5: the Service port's declared protocol decides the mode,
// never the policies. In HTTP mode no caller-sent identity header reaches the
// app (any case, "_" for "-"); our XFCC is the only one. A policy edit does not
// change the mode, and at L4 a policy with method/path rules fails closed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../src/core/eventually.js';
import { startConfigMesh, rawHttp, httpRequest, policy, workloadId, type ConfigMesh, type Received, type ServiceName } from './config-mesh-fixture.js';

const allowFrontend = (service: ServiceName, to?: unknown[]) =>
  policy(`${service}-frontend`, { selector: { services: [service] }, action: 'ALLOW', rules: [{ from: [{ principals: [workloadId('frontend')] }], ...(to ? { to } : {}) }] });
const BASE = [allowFrontend('profile'), allowFrontend('reports')];

let mesh: ConfigMesh;
before(async () => {
  mesh = await startConfigMesh(BASE);
});
after(async () => {
  await mesh?.close();
});

const FORGED = 'By=spiffe://eu.test/ns/shop/sa/profile;URI=spiffe://eu.test/ns/shop/sa/admin';

/** Every header the app got whose name, lower-cased with "_" read as "-", is XFCC. */
function xfccSeen(r: Received): string[] {
  const out: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) if (r.rawHeaders[i]!.toLowerCase().replace(/_/g, '-') === 'x-forwarded-client-cert') out.push(r.rawHeaders[i + 1]!);
  return out;
}

async function call(service: ServiceName, target: string, headers: string[] = []): Promise<{ status: number; got: Received[] }> {
  const app = mesh.apps[service];
  const before = app.received.length;
  const r = await rawHttp(mesh.outbound(service), mesh.addressOf('frontend'), httpRequest('GET', target, headers));
  return { status: r.status, got: app.received.slice(before) };
}

const OURS = (service: ServiceName): string => `By=${workloadId(service)};URI=${workloadId('frontend')}`;

for (const spelling of ['x-forwarded-client-cert', 'X-Forwarded-Client-Cert', 'x_forwarded_client_cert', 'X_Forwarded-Client_Cert']) {
  test(`HTTP mode: a caller-sent "${spelling}" never reaches the app, even when no policy tests methods or paths`, async () => {
    const { status, got } = await call('profile', '/me', [`${spelling}: ${FORGED}`]);
    assert.equal(status, 200);
    assert.equal(got.length, 1);
    assert.deepEqual(xfccSeen(got[0]!), [OURS('profile')], 'only our XFCC, with the verified caller');
  });
}

test('HTTP mode: every spelling at once in one request still leaves only ours', async () => {
  const { got } = await call('profile', '/me', [`x-forwarded-client-cert: ${FORGED}`, `x_forwarded_client_cert: ${FORGED}`, `X-FORWARDED-CLIENT-CERT: ${FORGED}`]);
  assert.deepEqual(xfccSeen(got[0]!), [OURS('profile')]);
});

/** L4: the app gets the caller's bytes as sent (no XFCC of ours, the raw path) and the record is per stream (no method). */
async function assertTcpMode(what: string): Promise<void> {
  const flowsBefore = mesh.flowsB.length;
  const { status, got } = await call('reports', '/a/../b', [`x_forwarded_client_cert: caller-sent`]);
  assert.equal(status, 200, what);
  assert.equal(got[0]!.url, '/a/../b', `${what}: bytes are spliced, the path is untouched`);
  assert.deepEqual(xfccSeen(got[0]!), ['caller-sent'], `${what}: no header is added or removed in TCP mode`);
  const flow = await eventually(() => mesh.flowsB.slice(flowsBefore).find((f) => f.service === 'shop/reports'), { timeoutMs: 30_000, what: 'the reports flow' });
  assert.equal(flow.method, undefined, `${what}: one record per stream, not per request`);
  assert.equal(flow.verdict, 'allow');
}

test('a policy edit does not change the mode: a TCP port stays L4 when a policy with method rules starts to apply', async () => {
  await assertTcpMode('before the edit');
  // A DENY that tests methods, for some other caller: it used to turn the service into L7.
  const denyDeletes = policy('reports-no-deletes', { selector: { services: ['reports'] }, action: 'DENY', rules: [{ from: [{ principals: [workloadId('profile')] }], to: [{ methods: ['DELETE'] }] }] });
  await mesh.setConfig([...BASE, denyDeletes]);
  await assertTcpMode('after the edit');
  await mesh.setConfig(BASE);
});

test('the declared protocol does change the mode: reports declared http gets our XFCC and a normalized path', async () => {
  await mesh.setConfig(BASE, { reports: 'http' });
  try {
    const { status, got } = await call('reports', '/a/../b', [`x_forwarded_client_cert: caller-sent`]);
    assert.equal(status, 200);
    assert.equal(got[0]!.url, '/b');
    assert.deepEqual(xfccSeen(got[0]!), [OURS('reports')]);
  } finally {
    await mesh.setConfig(BASE);
  }
});

test('L4 fails closed: on a TCP port an ALLOW that needs a method never matches, and a DENY with paths always does', async () => {
  const cases = [
    { name: 'ALLOW with methods only', policies: [allowFrontend('profile'), allowFrontend('reports', [{ methods: ['GET'] }])], reason: /no ALLOW rule matches/ },
    {
      name: 'DENY with paths',
      policies: [...BASE, policy('reports-no-admin', { selector: { services: ['reports'] }, action: 'DENY', rules: [{ to: [{ paths: ['/admin*'] }] }] })],
      reason: /DENY policy shop\/reports-no-admin/,
    },
  ];
  try {
    for (const c of cases) {
      await mesh.setConfig(c.policies);
      const flowsBefore = mesh.flowsB.length;
      const { got } = await call('reports', '/public');
      assert.equal(got.length, 0, `${c.name}: nothing reached the app`);
      const flow = await eventually(() => mesh.flowsB.slice(flowsBefore).find((f) => f.service === 'shop/reports'), { timeoutMs: 30_000, what: `${c.name}: the refusal record` });
      assert.equal(flow.verdict, 'deny', c.name);
      assert.equal(flow.status, 403, c.name);
      assert.match(flow.reason ?? '', c.reason, c.name);
    }
  } finally {
    await mesh.setConfig(BASE);
  }
});
