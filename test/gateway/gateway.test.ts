// End to end: real mTLS clients (node:tls, openssl s_client) through a real
// gateway to a real TLS backend; refusals (unknown SNI, no SNI, plaintext HTTP
// via curl, garbage, slowloris, dead agent) are counted and never hurt others.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { Registry } from 'prom-client';
import { startGateway, type RunningGateway } from '../../src/gateway/gateway-server.js';
import { AgentRouteTable } from '../../src/gateway/agent-route-table.js';
import { buildClientHelloMessage, frameRecords } from '../../src/gateway/client-hello-builder.js';
import { silentLogger } from '../../src/core/log.js';
import { closedPort, makeTestPki, startEchoBackend, tlsExchange as fixtureExchange, type Exchange, type TestPki, type EchoBackend } from './tls-fixture.js';
import { eventually } from '../../src/core/eventually.js';

const SNI = 'web.default.node-a.eu.example';
const HELLO_TIMEOUT_MS = 1500;

/** With this file's SNI unless told otherwise. */
const tlsExchange = (pki: TestPki, port: number, payload: Buffer, servername: string | null = SNI): Promise<Exchange> => fixtureExchange(pki, port, payload, servername);

function runProcess(cmd: string, args: string[], stdin = '', timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdin.on('error', () => undefined);
    // stdin stays open: s_client would otherwise shut down before the reply arrives.
    if (stdin) p.stdin.write(stdin);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => { clearTimeout(timer); p.stdin.destroy(); resolve({ code, stdout, stderr }); });
  });
}

/** Sends raw bytes, collects whatever comes back until the gateway closes. */
function rawExchange(port: number, bytes: Buffer): Promise<{ reply: Buffer; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const s = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined); // a reset is an acceptable way to be refused
    s.on('close', () => resolve({ reply: Buffer.concat(chunks), closedAfterMs: Date.now() - start }));
    setTimeout(() => { s.destroy(); reject(new Error('gateway did not close the connection')); }, 10_000).unref();
  });
}

async function counter(registry: Registry, name: string, label: string, value: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const found = (await metric.get()).values.find((v) => v.labels[label] === value);
  return found?.value ?? 0;
}

describe('gateway end to end', () => {
  let pki: TestPki;
  let backend: EchoBackend;
  let gw: RunningGateway;
  const registry = new Registry();
  const result = (r: string): Promise<number> => counter(registry, 'entente_gateway_connections_total', 'result', r);

  before(async () => {
    pki = await makeTestPki(SNI);
    backend = await startEchoBackend(pki);
    const table = new AgentRouteTable('eu.example');
    table.replace(new Map([['node-a', { host: '127.0.0.1', port: backend.port }], ['node-dead', { host: '127.0.0.1', port: await closedPort() }]]));
    gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'test', routes: table, log: silentLogger(), registry, clientHelloTimeoutMs: HELLO_TIMEOUT_MS });
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
    await pki?.cleanup();
  });

  it('node:tls completes mTLS through the gateway, sees the backend certificate, and half-close travels', async () => {
    const payload = randomBytes(2 * 1024 * 1024);
    const routedBefore = await result('routed');
    const { data, cert } = await tlsExchange(pki, gw.address.port, payload);
    assert.equal(cert.fingerprint256, new X509Certificate(pki.serverCertPem).fingerprint256, 'client must see the backend certificate');
    const trailer = `\nbytes=${payload.length}\n`;
    assert.equal(data.length, payload.length + trailer.length);
    assert.equal(createHash('sha256').update(data.subarray(0, payload.length)).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.equal(data.subarray(payload.length).toString(), trailer, 'reply sent after the client half-closed must arrive');
    assert.equal(backend.clientSubjects.at(-1), 'source-agent', 'the backend verified the client certificate end to end');
    assert.equal(await result('routed'), routedBefore + 1);
    assert.ok(await counter(registry, 'entente_gateway_bytes_total', 'direction', 'client_to_upstream') > payload.length);
    assert.ok(await counter(registry, 'entente_gateway_bytes_total', 'direction', 'upstream_to_client') > payload.length);
  });

  it('openssl s_client completes the handshake through the gateway and exchanges data', async () => {
    const r = await runProcess('openssl', ['s_client', '-connect', `127.0.0.1:${gw.address.port}`, '-servername', SNI,
      '-CAfile', pki.path('ca.pem'), '-cert', pki.path('client.pem'), '-key', pki.path('client.key'),
      '-verify_return_error', '-verify_hostname', SNI], 'hello through the gateway\nquit\n');
    assert.match(r.stdout, /Verify return code: 0 \(ok\)/, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`subject=CN ?= ?${SNI.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /hello through the gateway/);
  });

  it('refuses an unknown SNI with unrecognized_name (openssl and node) and counts it', async () => {
    const before = await result('unknown_sni');
    const r = await runProcess('openssl', ['s_client', '-connect', `127.0.0.1:${gw.address.port}`, '-servername', 'web.default.node-z.eu.example',
      '-CAfile', pki.path('ca.pem')], 'x\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /unrecognized name|alert number 112/);
    await assert.rejects(tlsExchange(pki, gw.address.port, Buffer.from('x'), 'web.default.node-a.us.example'), /unrecognized name|alert number 112/);
    assert.equal(await result('unknown_sni'), before + 2);
  });

  it('refuses a hello without SNI', async () => {
    const before = await result('no_sni');
    await assert.rejects(tlsExchange(pki, gw.address.port, Buffer.from('x'), null), /handshake failure|alert number 40/);
    assert.equal(await result('no_sni'), before + 1);
  });

  it('refuses plaintext HTTP from curl', async () => {
    const before = await result('not_tls');
    const r = await runProcess('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${gw.address.port}/`]);
    assert.notEqual(r.code, 0, 'curl must not get an HTTP response');
    assert.match(r.stderr, /Empty reply|reset|Recv failure/i);
    assert.equal(await result('not_tls'), before + 1);
  });

  it('refuses garbage: non-TLS bytes closed silently, broken TLS answered with decode_error', async () => {
    const notTls = await result('not_tls');
    const malformed = await result('malformed');
    const plain = await rawExchange(gw.address.port, Buffer.concat([Buffer.from([0x01]), randomBytes(3000)]));
    assert.equal(plain.reply.length, 0);
    const broken = await rawExchange(gw.address.port, Buffer.concat([Buffer.from([22, 3, 1, 0, 200, 7]), randomBytes(199)]));
    assert.deepEqual([...broken.reply], [21, 3, 3, 0, 2, 2, 50]);
    assert.equal(await result('not_tls'), notTls + 1);
    assert.equal(await result('malformed'), malformed + 1);
  });

  it('routes a hello split over several records and TCP segments, and forwards it intact', async () => {
    const before = await result('routed');
    const records = frameRecords(buildClientHelloMessage({ serverName: SNI, alpn: ['h2'] }), [20, 30, 1000]);
    const s = netConnect({ host: '127.0.0.1', port: gw.address.port });
    const reply: Buffer[] = [];
    s.on('data', (d: Buffer) => reply.push(d));
    s.on('error', () => undefined);
    const closed = new Promise((resolve) => s.on('close', resolve));
    await new Promise((resolve) => s.on('connect', resolve));
    for (let off = 0; off < records.length; off += 17) {
      s.write(records.subarray(off, off + 17));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await closed;
    // Our synthetic hello offers nothing the backend can accept: its answer is a TLS alert record
    // from the backend itself, which proves the bytes reached it.
    assert.equal(Buffer.concat(reply)[0], 21, 'backend answered with a TLS alert');
    assert.equal(await result('routed'), before + 1);
  });

  it('tells the client when the destination agent is unreachable', async () => {
    const before = await result('upstream_unreachable');
    await assert.rejects(tlsExchange(pki, gw.address.port, Buffer.from('x'), 'web.default.node-dead.eu.example'), /internal error|alert number 80/);
    assert.equal(await result('upstream_unreachable'), before + 1);
  });

  it('cuts slowloris clients at the hello deadline while serving everyone else', async () => {
    const before = await result('timeout');
    const hello = frameRecords(buildClientHelloMessage({ serverName: SNI }));
    const drips: Array<Promise<number>> = [];
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      drips.push(new Promise((resolve) => {
        const start = Date.now();
        const s = netConnect({ host: '127.0.0.1', port: gw.address.port });
        sockets.push(s);
        let sent = 0;
        // One byte every 100 ms: never idle, never complete. The deadline is total, not per read.
        const drip = setInterval(() => { if (sent < hello.length - 1) s.write(hello.subarray(sent, ++sent)); }, 100);
        s.on('error', () => undefined);
        s.on('close', () => { clearInterval(drip); resolve(Date.now() - start); });
      }));
    }
    try {
      for (let i = 0; i < 5; i++) {
        const { data } = await tlsExchange(pki, gw.address.port, Buffer.from(`ping ${i}`));
        assert.ok(data.toString().startsWith(`ping ${i}`));
      }
      const cutAfter = await Promise.all(drips);
      for (const ms of cutAfter) assert.ok(ms >= HELLO_TIMEOUT_MS - 100 && ms < HELLO_TIMEOUT_MS + 5000, `slowloris cut after ${ms} ms`);
      assert.equal(await result('timeout'), before + 20);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('returns to zero active connections', async () => {
    const active = async (): Promise<number> => (await registry.getSingleMetric('entente_gateway_active_connections')!.get()).values[0]!.value;
    await eventually(async () => (await active()) === 0 && gw.stats().active === 0, { what: 'active connections drain' });
    assert.ok(gw.stats().accepted >= 35);
  });
});

describe('gateway lifecycle', () => {
  it('close() drops spliced connections and stops listening', async () => {
    const pki = await makeTestPki(SNI);
    const backend = await startEchoBackend(pki);
    const table = new AgentRouteTable('eu.example');
    table.replace(new Map([['node-a', { host: '127.0.0.1', port: backend.port }]]));
    const gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'test', routes: table, log: silentLogger(), registry: new Registry() });
    try {
      const s = tlsConnect({ host: '127.0.0.1', port: gw.address.port, servername: SNI, ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem });
      s.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); });
      assert.equal(gw.stats().active, 1);
      const closed = new Promise((resolve) => s.once('close', resolve));
      await gw.close();
      await closed;
      await assert.rejects(new Promise((resolve, reject) => {
        const c = netConnect({ host: '127.0.0.1', port: gw.address.port }, () => { c.destroy(); resolve(undefined); });
        c.on('error', reject);
      }), /ECONNREFUSED/);
      assert.equal(gw.stats().results.routed, 1);
    } finally {
      await gw.close();
      await backend.close();
      await pki.cleanup();
    }
  });

  it('fails to start with a clear error when the address is taken, and on bad options', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const base = { region: 'test', routes: { lookup: () => undefined }, log: silentLogger(), registry: new Registry() };
      await assert.rejects(startGateway({ ...base, listen: { host: '127.0.0.1', port } }), /GATEWAY_LISTEN|cannot listen/);
      await assert.rejects(startGateway({ ...base, listen: { host: '127.0.0.1', port: 0 }, clientHelloTimeoutMs: 0 }), /clientHelloTimeoutMs=0/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
