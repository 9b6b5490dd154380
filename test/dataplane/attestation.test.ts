// Caller attestation with real processes: curl run as another user (uid
// 65534) from frontend's own address is refused by agent A — HTTP proxy
// requests and CONNECT with 403 and the mismatch reason, a per-service
// listener connection closed — while the same call as the declared user is
// carried; keep-alive requests share one lookup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { startMesh, exchange, metricValue, type Mesh } from './mesh-fixture.js';
import { eventually } from '../../src/core/eventually.js';
import { compileSelectors } from '../../src/agent/attest/attest-selectors.js';
import { readNodeAccounts } from '../../src/agent/attest/node-accounts.js';
import type { WireAttest } from '../../src/mesh/mesh-config.js';

const NOBODY = 65534;
const CURL = realpathSync('/usr/bin/curl');
let mesh: Mesh;

before(async () => {
  mesh = await startMesh({ httpProxy: true });
});
after(async () => {
  await mesh?.close();
});

const declare = (attest: WireAttest) => mesh.a.setSnapshot(mesh.snapshotA({ frontendAttest: compileSelectors(attest, readNodeAccounts()) }));

/** curl as `uid` (root when undefined), never blocking this process's event loop: the agents live here. */
function curl(args: string[], uid?: number): Promise<{ code: number; out: string; err: string }> {
  const ids = uid === undefined ? {} : { uid, gid: uid };
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', ...args], { encoding: 'utf8', ...ids }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

const proxy = (): string => `http://${mesh.a.httpProxyAddress!.host}:${mesh.a.httpProxyAddress!.port}`;
/** How many attestation lookups agent A made (the histogram's count). */
async function lookups(): Promise<number> {
  const m = await mesh.registryA.getSingleMetric('entente_agent_attestation_seconds')!.get();
  return (m.values as { metricName?: string; value: number }[]).filter((v) => v.metricName === 'entente_agent_attestation_seconds_count').reduce((a, v) => a + v.value, 0);
}

test('HTTP proxy: another user\'s curl from frontend\'s address is refused 403 with what did not match; CONNECT too; counted and recorded', async () => {
  await declare({ uid: 0, executable: CURL });
  const refusedBefore = await metricValue(mesh.registryA, 'entente_agent_refused_connections_total', { reason: 'attestation_failed' });
  const viaUri = await curl(['-i', '--interface', mesh.frontend.address, '-x', proxy(), '-X', 'POST', 'http://catalog.shop.mesh/charge'], NOBODY);
  assert.match(viaUri.out, /^HTTP\/1\.1 403/, viaUri.out + viaUri.err);
  const reason = new RegExp(`process \\d+ \\(${CURL.replace(/\//g, '\\/')}, uid 65534\\) does not match workload shop/frontend: uid 65534 is not 0`);
  assert.match(viaUri.out, new RegExp(`x-entente-deny-reason: ${reason.source}`));
  assert.match(viaUri.out, new RegExp(`denied by policy: ${reason.source}`));

  const viaConnect = await curl(['-p', '-v', '--interface', mesh.frontend.address, '-x', proxy(), 'http://catalog.shop.mesh/charge'], NOBODY);
  assert.notEqual(viaConnect.code, 0);
  assert.match(viaConnect.err, /CONNECT tunnel failed, response 403|< HTTP\/1\.1 403/);

  assert.equal((await metricValue(mesh.registryA, 'entente_agent_refused_connections_total', { reason: 'attestation_failed' })) - refusedBefore, 2);
  const denied = mesh.flowsA.filter((f) => f.verdict === 'deny' && f.sourceAddress === mesh.frontend.address && reason.test(f.reason ?? ''));
  assert.equal(denied.length, 2, JSON.stringify(mesh.flowsA.slice(-3)));
  assert.ok(denied.every((f) => f.attested === false && f.source === undefined));
  // Nothing reached catalog as frontend.
  assert.ok(!mesh.flowsB.some((f) => f.path === '/charge'));
});

test('HTTP proxy: the declared user\'s process is carried, attested; keep-alive requests reuse one lookup', async () => {
  await declare({ uid: 0, executable: CURL });
  // On Linux with the addon built (npm ci does), the agent asks the kernel, not /proc/net/tcp.
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_attestation_socket_lookup', { path: 'sock_diag' }), 1);
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_attestation_socket_lookup', { path: 'proc_net_tcp' }), 0);
  const before = await lookups();
  // One curl, two requests over one proxy connection.
  const r = await curl(['--interface', mesh.frontend.address, '-x', proxy(), 'http://catalog.shop.mesh/first', 'http://catalog.shop.mesh/second']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /"url":"\/first".*"url":"\/second"/s);
  assert.equal((await lookups()) - before, 1, 'one attestation for the connection, not one per request');
  const carried = mesh.flowsA.filter((f) => f.verdict === 'allow' && (f.path === '/first' || f.path === '/second'));
  assert.equal(carried.length, 2);
  assert.ok(carried.every((f) => f.attested === true && f.source?.toString() === mesh.frontend.spiffeId.toString()));
  // CONNECT as the declared user: allowed, the tunnel's bytes held until attestation was done.
  const tunnel = await curl(['-p', '--interface', mesh.frontend.address, '-x', proxy(), 'http://catalog.shop.mesh/tunnelled']);
  assert.equal(tunnel.code, 0, tunnel.err);
  assert.equal((JSON.parse(tunnel.out) as { url: string }).url, '/tunnelled');
});

test('per-service listener: a connection by another uid is closed and recorded; the declared uid is carried', async () => {
  // uid only: the socket's owner in /proc/net/tcp is enough, no process lookup.
  await declare({ uid: 0 });
  const listener = mesh.a.outboundAddresses().get('catalog.shop.mesh:80')!;
  const refused = await curl(['--interface', mesh.frontend.address, `http://${listener.host}:${listener.port}/listener`], NOBODY);
  assert.notEqual(refused.code, 0, `another uid got through: ${refused.out}`);
  const flow = await eventually(() => mesh.flowsA.find((f) => f.verdict === 'deny' && /socket owner \(uid 65534\) does not match workload shop\/frontend: uid 65534 is not 0/.test(f.reason ?? '')), {
    timeoutMs: 30_000,
    what: 'the refused connection to be recorded',
  });
  assert.equal(flow.attested, false);
  assert.ok(!mesh.flowsB.some((f) => f.path === '/listener'));
  // This process is root: its connection (half-closed at once) is carried.
  const echo = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000')!;
  const ok = await exchange(echo, mesh.frontend.address, 'ping', 30_000);
  assert.equal(ok.data, 'echo:ping', ok.error);
  const allowed = await eventually(() => mesh.flowsA.find((f) => f.verdict === 'allow' && f.port === 7000), { timeoutMs: 30_000, what: 'the carried stream to be recorded' });
  assert.equal(allowed.attested, true);
});

test('a Workload without selectors keeps address-only identification, and its flows say attested: false', async () => {
  await mesh.a.setSnapshot(mesh.snapshotA());
  const before = await lookups();
  const r = await curl(['--interface', mesh.frontend.address, '-x', proxy(), 'http://catalog.shop.mesh/plain'], NOBODY);
  assert.equal(r.code, 0, r.err);
  assert.equal(await lookups(), before, 'no lookup without selectors');
  const f = mesh.flowsA.find((x) => x.path === '/plain');
  assert.equal(f?.attested, false);
});
