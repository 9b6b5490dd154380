// End to end, with real processes, sockets and TLS: two regions, each with a
// controller, a gateway and two agents, and demo apps. Calls go through the
// agents' HTTP proxies with real curl, from each app's own address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { Lab } from '../../src/lab/lab.js';
import { exitWatchdog, randomIpPrefix, runCli, startTestMesh } from './lab-harness.js';
import { ENTENTE_VERSION } from '../../src/core/build-info.js';

exitWatchdog();

const run = promisify(execFile);
let lab: Lab;
let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'entente-e2e-'));
  lab = await startTestMesh(['eu', 'us'], randomIpPrefix(175, 210));
});
after(async () => {
  await lab?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const workload = (service: string) => lab.topology.workloads.find((w) => w.service === service)!;
const region = (name: string) => lab.topology.regions.find((r) => r.name === name)!;
const proxyOf = (service: string) => {
  const w = workload(service);
  return `http://${region(w.region).agents.find((a) => a.node === w.node)!.ip}:${PORTS.agentProxy}`;
};

/** curl from a workload's own address through its node agent's proxy. */
async function curlFrom(service: string, url: string, extra: string[] = []): Promise<{ code: number; status: number; headers: string; body: string }> {
  const args = ['-s', '-m', '10', '-D', '-', '--interface', workload(service).address, '-x', proxyOf(service), ...extra, url];
  try {
    const { stdout } = await run('curl', args);
    const [headers = '', body = ''] = stdout.split(/\r\n\r\n(?!HTTP\/)/);
    const status = Number(/HTTP\/[\d.]+ (\d+)/g.exec(headers.split('\r\n\r\n').pop() ?? headers)?.[1] ?? 0);
    return { code: 0, status, headers, body };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, status: Number(/HTTP\/[\d.]+ (\d+)/.exec(e.stdout ?? '')?.[1] ?? 0), headers: e.stdout ?? '', body: '' };
  }
}

test('an allowed cross-region call reaches the app, and an HTTP-mode service sees the caller SPIFFE ID', async () => {
  // catalog (us) -> ledger (eu): ledger-readers allows catalog GET; ledger's port is declared http.
  const r = await curlFrom('catalog', 'http://ledger.shop.eu.mesh/balance');
  assert.equal(r.status, 200, `${r.headers}\n${r.body}`);
  const body = JSON.parse(r.body) as { service: string; region: string; caller: string };
  assert.equal(body.service, 'ledger');
  assert.equal(body.region, 'eu');
  assert.match(body.caller, /URI=spiffe:\/\/us\.entente\.lab\/ns\/shop\/sa\/catalog/);
  assert.match(body.caller, /By=spiffe:\/\/eu\.entente\.lab\/ns\/shop\/sa\/ledger/);

  // frontend (eu) -> catalog (us): catalog's policy tests no method or path, yet its port is http, so
  // the mode is still HTTP: the app sees the verified caller, and a forged XFCC (either spelling) is gone.
  const forged = 'By=spiffe://eu.entente.lab/ns/shop/sa/catalog;URI=spiffe://eu.entente.lab/ns/shop/sa/admin';
  const h = await curlFrom('frontend', 'http://catalog.shop.us.mesh/items', ['-H', `x-forwarded-client-cert: ${forged}`, '-H', `x_forwarded_client_cert: ${forged}`]);
  assert.equal(h.status, 200, h.headers);
  const seen = JSON.parse(h.body) as { service: string; caller: string };
  assert.equal(seen.service, 'catalog');
  assert.equal(seen.caller, 'By=spiffe://us.entente.lab/ns/shop/sa/catalog;URI=spiffe://eu.entente.lab/ns/shop/sa/frontend');
});

test('a call with no ALLOW rule is denied: 403 with the reason over HTTP, also inside a CONNECT tunnel', async () => {
  // reviews (us) -> ledger (eu), HTTP mode: the destination agent answers 403 and says why.
  const l7 = await curlFrom('reviews', 'http://ledger.shop.eu.mesh/balance');
  assert.equal(l7.status, 403, l7.headers);
  assert.match(l7.body, /no ALLOW rule matches spiffe:\/\/us\.entente\.lab\/ns\/shop\/sa\/reviews/);
  // catalog may GET ledger but not POST: a method rule.
  const post = await curlFrom('catalog', 'http://ledger.shop.eu.mesh/balance', ['-X', 'POST']);
  assert.equal(post.status, 403);

  // ledger (eu) -> catalog (us) through a CONNECT tunnel: the tunnel opens (catalog's port is http, so
  // streams are accepted), and every request inside it is still authorized: 403 with the reason.
  const tunnel = await curlFrom('ledger', 'http://catalog.shop.us.mesh/items', ['-p']);
  assert.equal(tunnel.status, 403, tunnel.headers);
  assert.match(tunnel.headers, /x-entente-deny-reason: DENY policy shop\/catalog-deny-ledger rules\[0\] matches/i);
});

test('a plaintext connection to the inbound port is refused', async () => {
  const a = region('eu').agents[0]!;
  const reply = await new Promise<{ data: Buffer; closed: boolean }>((resolve) => {
    const s = connect(PORTS.agentInbound, a.ip, () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ data: Buffer.concat(chunks), closed: true }));
    s.setTimeout(10_000, () => s.destroy());
  });
  assert.equal(reply.closed, true);
  assert.doesNotMatch(reply.data.toString('latin1'), /^HTTP\//, 'no HTTP answer may come back');
  const curl = await run('curl', ['-s', '-m', '5', `http://${a.ip}:${PORTS.agentInbound}/`]).then(
    () => 0,
    (e: { code: number }) => e.code,
  );
  assert.notEqual(curl, 0);
});

test('a client certificate from an unknown trust domain is refused during the handshake', async () => {
  const evil = await LocalCa.loadOrCreate(join(scratch, 'evil-ca'), parseTrustDomain('evil.example'));
  const keys = await generateKeyPair();
  const svid = await evil.issue(SpiffeId.forWorkload(evil.trustDomain, 'shop', 'catalog'), keys.publicKey, 600_000);
  await writeFile(join(scratch, 'evil.crt'), svid.chainPem);
  await writeFile(join(scratch, 'evil.key'), await privateKeyToPem(keys.privateKey));
  const w = workload('ledger');
  const a = region('eu').agents.find((x) => x.node === w.node)!;
  const sni = formatMeshSni({ workload: w.name, namespace: 'shop', node: w.node, trustDomain: region('eu').trustDomain });
  const metricsUrl = `http://${a.ip}:${PORTS.agentMetrics}/metrics`;
  const refusedCount = async (): Promise<number> => {
    const text = (await run('curl', ['-s', metricsUrl])).stdout;
    const m = /entente_agent_tls_handshake_failures_total\{[^}]*reason="untrusted_certificate"[^}]*\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const before = await refusedCount();
  // openssl s_client as the peer: it offers h2 and the foreign certificate and
  // sends an HTTP/2 preface. The agent must refuse before any session exists:
  // not one byte of HTTP/2 (its SETTINGS frame) may come back.
  const out = await new Promise<string>((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-quiet', '-connect', `${a.ip}:${PORTS.agentInbound}`, '-servername', sni, '-alpn', 'h2', '-cert', join(scratch, 'evil.crt'), '-key', join(scratch, 'evil.key'), '-tls1_3'],
      { timeout: 15_000, encoding: 'latin1' },
      (_err, stdout, stderr) => resolve(`${stdout}\n--stderr--\n${stderr}`),
    );
    // stdin stays open: openssl exits when the agent refuses (an alert or a close), however slow the machine;
    // closing stdin on a timer raced the handshake on a busy machine, and openssl then left before the refusal.
    child.stdin?.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  });
  assert.equal(out.split('\n--stderr--\n')[0], '', `the agent answered a foreign certificate: ${out}`);
  assert.match(out, /unexpected eof|alert|errno|error/i, out);
  await eventually(async () => (await refusedCount()) > before, { timeoutMs: 60_000, what: 'the agent to count the refused handshake' });
});

test('openssl s_client with an SVID issued by the mesh completes mTLS with an agent (and gets its HTTP/2 SETTINGS)', async () => {
  // The SVID and key of us/catalog, as its agent cached them on disk (0600).
  const cat = workload('catalog');
  const agentDir = join(lab.workdir, 'us', `agent-${cat.node}-data`);
  const cred = JSON.parse(await readFile(join(agentDir, 'workloads', `shop__${cat.name}.json`), 'utf8')) as { keyPem: string; chainPem: string };
  const euCa = (JSON.parse(await readFile(join(lab.workdir, 'eu', `agent-${region('eu').agents[0]!.node}-data`, 'enrollment.json'), 'utf8')) as { caPem: string }).caPem;
  await writeFile(join(scratch, 'catalog.crt'), cred.chainPem);
  await writeFile(join(scratch, 'catalog.key'), cred.keyPem);
  await writeFile(join(scratch, 'eu-ca.pem'), euCa);
  const w = workload('ledger');
  const a = region('eu').agents.find((x) => x.node === w.node)!;
  const sni = formatMeshSni({ workload: w.name, namespace: 'shop', node: w.node, trustDomain: region('eu').trustDomain });
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `${a.ip}:${PORTS.agentInbound}`, '-servername', sni, '-alpn', 'h2', '-cert', join(scratch, 'catalog.crt'), '-key', join(scratch, 'catalog.key'), '-CAfile', join(scratch, 'eu-ca.pem'), '-tls1_3', '-verify_return_error'],
      { timeout: 15_000, encoding: 'latin1' },
      (_err, stdout, stderr) => resolve({ stdout, stderr }),
    );
    child.stdin?.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    setTimeout(() => child.stdin?.end(), 1500);
  });
  const text = `${out.stdout}\n${out.stderr}`;
  assert.match(text, /Verify return code: 0 \(ok\)/, text);
  assert.match(text, /ALPN protocol: h2/, text);
  // The agent accepted the session: its HTTP/2 SETTINGS frame (type 0x04 on stream 0) came back.
  const settingsFrameHeader = Buffer.from([0x04, 0, 0, 0, 0, 0]).toString('latin1'); // type SETTINGS, no flags, stream 0
  assert.ok(out.stdout.includes(settingsFrameHeader), 'an HTTP/2 SETTINGS frame from the agent');
});

test('the gateway refuses an unknown SNI and counts it', async () => {
  const gw = region('eu').gatewayIp;
  const out = await new Promise<string>((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `${gw}:${PORTS.gateway}`, '-servername', 'nobody.shop.no-such-node.eu.entente.lab'],
      { timeout: 15_000 },
      (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end();
  });
  assert.match(out, /unrecognized name/i, out);
  const metrics = await run('curl', ['-s', `http://${gw}:${PORTS.gatewayMetrics}/metrics`]);
  assert.match(metrics.stdout, /entente_gateway_connections_total\{[^}]*result="unknown_sni"[^}]*\} [1-9]/);
});

test('agents and gateways answer /healthz and /readyz; the gateway answers only its own paths', async () => {
  const code = async (url: string): Promise<string> => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url])).stdout;
  const a = region('eu').agents[0]!;
  const gw = region('eu').gatewayIp;
  for (const base of [`http://${a.ip}:${PORTS.agentMetrics}`, `http://${gw}:${PORTS.gatewayMetrics}`]) {
    assert.equal(await code(`${base}/healthz`), '200', `${base}/healthz`);
    await eventually(async () => (await code(`${base}/readyz`)) === '200', { timeoutMs: 60_000, what: `${base}/readyz to be 200` });
    assert.equal(JSON.parse((await run('curl', ['-s', `${base}/readyz`])).stdout).status, 'ok');
    assert.equal(await code(`${base}/no-such-path`), '404', `${base}/no-such-path`);
  }
  assert.equal(await code(`http://${gw}:${PORTS.gatewayMetrics}/metrics`), '200');
});

test('entente version: the client, and the controller it is pointed at; every component exports entente_build_info', async () => {
  const url = lab.adminUrl('eu');
  const json = await runCli(['version', '--controller', url, '-o', 'json'], 60_000);
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { client: { version: string }; controller: { version: string; region: string } };
  assert.equal(r.client.version, ENTENTE_VERSION);
  assert.deepEqual([r.controller.version, r.controller.region], [ENTENTE_VERSION, 'eu']);
  const text = await runCli(['version'], 60_000);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^client: +entente ${ENTENTE_VERSION.replace(/\./g, '\\.')} `));
  // A controller that cannot be read: said, and exit 4.
  const down = await runCli(['version', '--controller', `http://${region('eu').agents[0]!.ip}:9`], 60_000);
  assert.equal(down.code, 4, down.stdout);
  assert.match(down.stdout, /cannot read/);
  assert.equal((await runCli(['version', '-o', 'yaml'], 60_000)).code, 2, 'an unknown output format is a usage error');
  const metrics = await Promise.all([
    `${url}/metrics`,
    `http://${region('eu').agents[0]!.ip}:${PORTS.agentMetrics}/metrics`,
    `http://${region('eu').gatewayIp}:${PORTS.gatewayMetrics}/metrics`,
  ].map(async (m) => (await run('curl', ['-s', m])).stdout));
  for (const [i, component] of ['controller', 'agent', 'gateway'].entries()) {
    const line = metrics[i]!.split('\n').find((l) => l.startsWith('entente_build_info{'));
    assert.ok(line?.includes(`version="${ENTENTE_VERSION}"`) && line.includes(`component="${component}"`) && line.endsWith(' 1'), `${component}: ${line}`);
  }
});

test('a broken policy file leaves the last good policy in force and reports the error', async () => {
  const file = join(lab.workdir, 'eu', 'resources', 'policies.yaml');
  const good = await readFile(file, 'utf8');
  const before = (await httpJson<{ policy: { digest: string } }>(`${lab.adminUrl('eu')}/v1/status`)).body.policy.digest;
  // A typo in a key: the whole change is refused.
  await writeFile(file, good.replace('principals:', 'principles:'));
  try {
    const status = await eventually(
      async () => {
        const st = (await httpJson<{ policy: { ok: boolean; digest: string; errors: { file: string; key: string; message: string }[] } }>(`${lab.adminUrl('eu')}/v1/status`)).body;
        return st.policy.ok ? undefined : st;
      },
      { timeoutMs: 60_000, what: 'the controller to report the broken file' },
    );
    assert.equal(status.policy.digest, before, 'the last good policy stays in force');
    assert.ok(status.policy.errors.some((e) => e.file.endsWith('policies.yaml') && /principles/.test(e.key)), JSON.stringify(status.policy.errors));
    // Traffic still follows the last good policy.
    assert.equal((await curlFrom('catalog', 'http://ledger.shop.eu.mesh/balance')).status, 200);
    assert.equal((await curlFrom('reviews', 'http://ledger.shop.eu.mesh/balance')).status, 403);
  } finally {
    await writeFile(file, good);
  }
  await eventually(async () => (await httpJson<{ policy: { ok: boolean } }>(`${lab.adminUrl('eu')}/v1/status`)).body.policy.ok, {
    timeoutMs: 60_000,
    what: 'the fixed file to load',
  });
});
