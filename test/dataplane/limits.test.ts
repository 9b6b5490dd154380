// Limits at the inbound agent, over real mTLS sockets: a ClientHello followed
// by silence is dropped after the handshake timeout; a session cannot hold more
// streams than advertised; a workload gets at most N concurrent app connections
// (L4 and L7), the rest 503; and a flood of policy denials does not use up the
// log budget of forged-certificate refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { eventually } from '../../src/core/eventually.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';
import { startMesh, metricValue, issueCredentials, portOf, type Mesh } from './mesh-fixture.js';
import { rawH2, connectHeaders, PREFACE, SETTINGS_ACK, H2_REFUSED_STREAM } from './h2-raw-client.js';
import type { WorkloadCredentials } from '../../src/agent/dataplane/dataplane-snapshot.js';

const STREAM_CAP = 4;
const WORKLOAD_CAP = 6;
const HANDSHAKE_TIMEOUT_MS = 500;
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

interface LogLine { level: number; msg: string; refusal?: string }
const logLines: LogLine[] = [];
const logB = pino({ level: 'debug' }, new Writable({
  write(chunk: Buffer, _enc, cb) { logLines.push(JSON.parse(chunk.toString()) as LogLine); cb(); },
}));

let mesh: Mesh;
let creds: WorkloadCredentials;
const cleanups: Array<() => void> = [];
before(async () => {
  mesh = await startMesh({ tuningB: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, maxStreamsPerSession: STREAM_CAP, maxConnectionsPerWorkload: WORKLOAD_CAP }, logB });
  creds = await issueCredentials(mesh.eu, mesh.frontend.spiffeId);
});
after(async () => {
  for (const c of cleanups) c();
  await mesh?.close();
});

const sniOf = (workload: string): string => formatMeshSni({ workload, namespace: 'shop', node: 'node-b', trustDomain: 'eu.test' });
const echoAuthority = (): string => `${mesh.catalog.address}:${portOf(mesh.apps.catalogEcho)}`;

function session(servername: string, c: { certChainPem: string; privateKeyPem: string } = creds): ClientHttp2Session {
  const b = mesh.b.inboundAddress;
  const s = h2connect(`https://${b.host}:${b.port}`, { ca: mesh.eu.caCertPem, cert: c.certChainPem, key: c.privateKeyPem, servername, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
  s.on('error', () => undefined);
  cleanups.push(() => s.destroy());
  return s;
}

/** Opens a CONNECT stream and resolves with its answer; the stream stays open. */
function openConnect(s: ClientHttp2Session, authority: string): Promise<{ stream: ClientHttp2Stream; status: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ':method': 'CONNECT', ':authority': authority });
    stream.on('error', () => undefined);
    stream.once('response', (h) => {
      const reason = h['x-entente-deny-reason'];
      resolve({ stream, status: Number(h[':status']), ...(typeof reason === 'string' ? { reason } : {}) });
    });
    stream.once('close', () => reject(new Error(`stream closed without an answer (code ${stream.rstCode})`)));
  });
}

/** The bytes of a real TLS 1.3 ClientHello for `servername`, captured from node:tls by a listener that never answers. */
async function captureClientHello(servername: string): Promise<Buffer> {
  let resolveHello!: (b: Buffer) => void;
  const got = new Promise<Buffer>((resolve) => { resolveHello = resolve; });
  const server = createNetServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) { resolveHello(buf.subarray(0, 5 + buf.readUInt16BE(3))); s.destroy(); }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, `${mesh.prefix}.9`, resolve));
  const client = tlsConnect({ host: `${mesh.prefix}.9`, port: portOf(server), servername, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3', ca: mesh.eu.caCertPem, cert: creds.certChainPem, key: creds.privateKeyPem });
  client.on('error', () => undefined);
  try {
    return await got;
  } finally {
    client.destroy();
    server.close();
  }
}

test('a valid ClientHello followed by silence is dropped after the handshake timeout, and counted', async () => {
  const hello = await captureClientHello(sniOf('catalog'));
  const timeoutsBefore = await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'timeout' });
  const b = mesh.b.inboundAddress;
  const silent: Socket = netConnect({ host: b.host, port: b.port, localAddress: `${mesh.prefix}.31` });
  cleanups.push(() => silent.destroy());
  let serverSpoke = false;
  let closedAt = 0;
  silent.on('error', () => undefined);
  silent.on('connect', () => silent.write(hello));
  silent.on('data', () => { serverSpoke = true; });
  silent.on('close', () => { closedAt = Date.now(); });
  const start = Date.now();
  await eventually(() => closedAt > 0, { ...WAIT, what: 'the agent to close a connection that went silent after its ClientHello' });
  assert.ok(serverSpoke, 'the agent answered the ClientHello (a real handshake was in progress)');
  assert.ok(closedAt - start >= HANDSHAKE_TIMEOUT_MS - 50, `closed after ${closedAt - start} ms, not before the timeout`);
  await eventually(async () => (await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'timeout' })) > timeoutsBefore,
    { ...WAIT, what: 'the handshake timeout to be counted' });
});

test('a session cannot hold more streams than advertised: the excess is refused with REFUSED_STREAM', async () => {
  const b = mesh.b.inboundAddress;
  const n = STREAM_CAP + 6;
  // First flight: all HEADERS before the server's SETTINGS can have arrived.
  const { socket, frames } = rawH2({ to: b, ca: mesh.eu.caCertPem, cert: creds.certChainPem, key: creds.privateKeyPem, servername: sniOf('catalog') }, (s) => {
    s.write(Buffer.concat([PREFACE, ...Array.from({ length: n }, (_, i) => connectHeaders(1 + 2 * i, echoAuthority()))]));
  });
  cleanups.push(() => socket.destroy());
  await eventually(() => frames.answered.size + frames.reset.size >= n, { ...WAIT, what: `answers or resets for all ${n} streams` });
  assert.equal(frames.answered.size, STREAM_CAP, `only ${STREAM_CAP} streams are served`);
  assert.deepEqual([...frames.reset.values()], Array(n - STREAM_CAP).fill(H2_REFUSED_STREAM), 'every excess stream is refused with REFUSED_STREAM');
  socket.destroy();
});

test('a peer that ignores the acknowledged stream limit loses its session, counted; others are served', async () => {
  const b = mesh.b.inboundAddress;
  const before = await metricValue(mesh.registryB, 'entente_agent_inbound_session_errors_total', { reason: 'protocol_error' });
  const n = STREAM_CAP + 2;
  const { socket, frames } = rawH2({ to: b, ca: mesh.eu.caCertPem, cert: creds.certChainPem, key: creds.privateKeyPem, servername: sniOf('catalog') },
    (s) => s.write(PREFACE),
    (s) => s.write(Buffer.concat([SETTINGS_ACK, ...Array.from({ length: n }, (_, i) => connectHeaders(1 + 2 * i, echoAuthority()))])));
  cleanups.push(() => socket.destroy());
  await eventually(() => frames.goaway !== undefined || frames.closed, { ...WAIT, what: 'the agent to end the session of a peer over its stream limit' });
  assert.ok(frames.answered.size <= STREAM_CAP, `at most ${STREAM_CAP} streams served, got ${frames.answered.size}`);
  await eventually(async () => (await metricValue(mesh.registryB, 'entente_agent_inbound_session_errors_total', { reason: 'protocol_error' })) > before,
    { ...WAIT, what: 'the protocol violation to be counted' });
  const ok = await openConnect(session(sniOf('catalog')), echoAuthority());
  assert.equal(ok.status, 200, 'a conforming peer is still served');
  ok.stream.destroy();
});

test('the bulkhead: more concurrent L4 connections to one workload than the cap are refused 503, counted, flow-recorded', async () => {
  // One session per stream: a session carries at most STREAM_CAP.
  const held = [];
  for (let i = 0; i < WORKLOAD_CAP; i++) held.push(await openConnect(session(sniOf('catalog')), echoAuthority()));
  assert.deepEqual(held.map((h) => h.status), Array(WORKLOAD_CAP).fill(200));
  const before = await metricValue(mesh.registryB, 'entente_agent_refused_streams_total', { reason: 'workload_connection_limit' });
  const s = session(sniOf('catalog'));
  const over = await openConnect(s, echoAuthority());
  assert.equal(over.status, 503);
  assert.match(over.reason ?? '', new RegExp(`shop/catalog has ${WORKLOAD_CAP} concurrent app connections.*maxConnectionsPerWorkload`));
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_refused_streams_total', { reason: 'workload_connection_limit' }), before + 1);
  const flow = await eventually(() => mesh.flowsB.find((f) => f.status === 503 && f.service === 'shop/catalog'), { ...WAIT, what: 'a flow record of the refusal' });
  assert.equal(flow.verdict, 'error');
  // Another workload has its own budget.
  const other = await openConnect(session(sniOf('orders')), `${mesh.orders.address}:${portOf(mesh.apps.ordersHttp)}`);
  assert.equal(other.status, 200);
  other.stream.destroy();
  // Releasing one connection frees a slot.
  held[0]!.stream.end();
  const again = await eventually(async () => {
    const r = await openConnect(s, echoAuthority());
    if (r.status === 200) return r;
    r.stream.destroy();
    return undefined;
  }, { ...WAIT, what: 'a slot to free up once a connection ended' });
  again.stream.destroy();
  for (const h of held) h.stream.destroy();
});

test('the bulkhead: more in-flight L7 requests to one workload than the cap are answered 503', async () => {
  const authority = `${mesh.orders.address}:${portOf(mesh.apps.ordersHttp)}`;
  const streams: ClientHttp2Stream[] = [];
  const replies: string[] = [];
  const openRequest = async (): Promise<number> => {
    const r = await openConnect(session(sniOf('orders')), authority);
    assert.equal(r.status, 200);
    const i = streams.push(r.stream) - 1;
    replies[i] = '';
    r.stream.on('data', (d: Buffer) => { replies[i] += d.toString(); });
    // The body never comes: the request stays in flight at the app.
    r.stream.write(`POST /public/slow HTTP/1.1\r\nhost: orders\r\ncontent-length: 5\r\n\r\n`);
    return i;
  };
  for (let i = 0; i < WORKLOAD_CAP; i++) await openRequest();
  // Wait until the app holds every request before the one over the cap.
  await eventually(async () => (await metricValue(mesh.registryB, 'entente_agent_workload_connections', { workload: 'shop/orders' })) >= WORKLOAD_CAP,
    { ...WAIT, what: 'every request in flight at the app' });
  const before = await metricValue(mesh.registryB, 'entente_agent_refused_streams_total', { reason: 'workload_connection_limit' });
  const over = await openRequest();
  await eventually(() => replies[over]!.includes('\r\n\r\n'), { ...WAIT, what: 'an answer to the request over the cap' });
  assert.match(replies[over]!, /^HTTP\/1\.1 503 /);
  assert.match(replies[over]!, /maxConnectionsPerWorkload/);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_refused_streams_total', { reason: 'workload_connection_limit' }), before + 1);
  // Completing a held request frees its slot.
  streams[0]!.write('hello');
  await eventually(() => replies[0]!.includes('"body":"hello"'), { ...WAIT, what: 'the held request to complete' });
  await eventually(async () => (await metricValue(mesh.registryB, 'entente_agent_workload_connections', { workload: 'shop/orders' })) < WORKLOAD_CAP,
    { ...WAIT, what: 'the slot to be released' });
  for (const st of streams) st.destroy();
});

test('the pool respects the peer\'s stream limit: more app connections than it allows open another session, none waits', async () => {
  const echo = mesh.apps.catalogEcho;
  const appConnections = (): Promise<number> => new Promise((resolve, reject) => echo.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const baseline = await appConnections();
  const listener = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000');
  assert.ok(listener, 'agent A listens for catalog:7000');
  const n = STREAM_CAP + 2;
  const apps: Socket[] = [];
  const replies = Array.from({ length: n }, () => '');
  for (let i = 0; i < n; i++) {
    const c = netConnect({ host: listener.host, port: listener.port, localAddress: mesh.frontend.address, allowHalfOpen: true });
    c.on('error', () => undefined);
    c.on('data', (d: Buffer) => { replies[i] += d.toString(); });
    cleanups.push(() => c.destroy());
    apps.push(c);
  }
  // Every connection reaches the app while all are still open: none is queued behind the first session's streams.
  await eventually(async () => (await appConnections()) - baseline >= n, { ...WAIT, what: `${n} concurrent app connections at catalog` });
  assert.ok(mesh.a.poolSize() >= 2, `A opened another session once the first was full (pool size ${mesh.a.poolSize()})`);
  apps.forEach((c, i) => c.end(`m${i}`));
  await eventually(() => replies.every((r, i) => r === `echo:m${i}`), { ...WAIT, what: 'every echo reply' });
});

test('policy denials log at info and do not use up the log budget of forged-certificate refusals', async () => {
  const s = session(sniOf('billing'));
  for (let i = 0; i < 40; i++) {
    const r = await openConnect(s, `${mesh.billing.address}:80`);
    assert.equal(r.status, 403);
  }
  // A certificate from a CA nobody trusts: refused in the handshake.
  const rogue = await LocalCa.loadOrCreate(join(mesh.dir, 'rogue'), parseTrustDomain('rogue.test'));
  const forged = await issueCredentials(rogue, SpiffeId.forWorkload(parseTrustDomain('rogue.test'), 'shop', 'frontend'));
  const fs = session(sniOf('catalog'), forged);
  await new Promise<void>((resolve) => { fs.once('close', () => resolve()); fs.once('error', () => resolve()); });
  const line = await eventually(() => logLines.find((l) => l.msg === 'mTLS handshake refused on the inbound port' && l.refusal === 'untrusted_certificate'),
    { ...WAIT, what: 'the forged-certificate refusal in the log' });
  assert.equal(line.level, 40, 'security refusals stay at warn');
  const denials = logLines.filter((l) => l.msg === 'inbound call denied');
  assert.ok(denials.length > 0, 'denials are logged (within their budget)');
  assert.ok(denials.every((l) => l.level === 30), `denials at info, got levels ${[...new Set(denials.map((l) => l.level))].join(',')}`);
});
