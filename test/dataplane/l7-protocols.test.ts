// HTTP mode beyond HTTP/1.1, through two real data planes on loopback: h2c
// callers (to an h2c app on an http2 port, and translated to an HTTP/1.1 app
// on an http port), gRPC (trailers, statuses, a server stream, the agent's own
// statuses for refused and failed calls) and WebSocket upgrades. Every request
// is authorized on its own, as HTTP/1.1 requests are.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { LocalCa } from '../../src/identity/local-ca.js';
import { parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { silentLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import type { SocketAddress } from '../../src/core/address.js';
import { startDataplane, type Dataplane, type FlowRecord } from '../../src/agent/dataplane/index.js';
import type { OutboundPort, ServiceRoute } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { StaticCredentials, TableAuthorizer, closeServer, endpointOf, exchange, issueCredentials, makeSnapshot, metricValue, portOf, randomLoopbackPrefix, startEchoHttp, withPorts, workload, type Bundle } from './mesh-fixture.js';
import { countAll, grpcEchoClient, startGrpcEcho, startH2cEcho, startSourceRelay, startWsEcho, unary, upgradeStatus } from './protocol-apps.js';

const prefix = randomLoopbackPrefix();
const cleanups: (() => Promise<unknown> | void)[] = [];
let a: Dataplane;
let b: Dataplane;
const flowsB: FlowRecord[] = [];
const registryB = new Registry();
const frontendAddress = `${prefix}.11`;
let xfcc = (_service: string): string => '';

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-proto-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const td = parseTrustDomain('eu.test');
  const ca = await LocalCa.loadOrCreate(join(dir, 'eu'), td);
  const h2 = await startH2cEcho(`${prefix}.31`);
  const g = await startGrpcEcho(`${prefix}.32`);
  const ws = await startWsEcho(`${prefix}.33`);
  const web = await startEchoHttp(`${prefix}.34`);
  cleanups.push(() => closeServer(web), () => new Promise((r) => h2.close(r)), () => g.server.forceShutdown(), () => ws.wss.close(), () => closeServer(ws.http));
  // grpcdown declares a port nobody listens on: the agent's own failure status.
  const down = await startEchoHttp(`${prefix}.35`);
  const downPort = portOf(down);
  await closeServer(down);
  const frontend = workload(td, 'shop', 'frontend', frontendAddress);
  const services = [
    withPorts(workload(td, 'shop', 'h2echo', `${prefix}.31`), [[portOf(h2), 80, 'http2']]),
    withPorts(workload(td, 'shop', 'grpc', `${prefix}.32`), [[g.port, 50051, 'http2']]),
    withPorts(workload(td, 'shop', 'ws', `${prefix}.33`), [[portOf(ws.http), 80, 'http']]),
    withPorts(workload(td, 'shop', 'web', `${prefix}.34`), [[portOf(web), 80, 'http']]),
    withPorts(workload(td, 'shop', 'grpcdown', `${prefix}.35`), [[downPort, 50051, 'http2']]),
  ];
  xfcc = (service) => `By=${services.find((s) => s.name === service)!.spiffeId.toString()};URI=${frontend.spiffeId.toString()}`;
  const credsA = new StaticCredentials();
  const credsB = new StaticCredentials();
  credsA.set(frontend, await issueCredentials(ca, frontend.spiffeId));
  for (const w of services) credsB.set(w, await issueCredentials(ca, w.spiffeId));
  const bundles: Bundle[] = [{ trustDomain: td, region: 'eu', pems: [ca.caCertPem] }];
  const caller = frontend.spiffeId.toString();
  const authorizer = new TableAuthorizer([
    { caller, service: 'shop/h2echo', pathPrefix: '/ok/' },
    { caller, service: 'shop/grpc', method: 'POST', pathPrefix: '/entente.test.Echo/Say' },
    { caller, service: 'shop/grpc', method: 'POST', pathPrefix: '/entente.test.Echo/Count' },
    { caller, service: 'shop/ws', method: 'GET', pathPrefix: '/ws/' },
    { caller, service: 'shop/web', method: 'GET' },
    { caller, service: 'shop/grpcdown' },
  ]);
  b = await startDataplane({ inbound: { host: `${prefix}.2`, port: 0 }, snapshot: makeSnapshot({ region: 'eu', trustDomain: td, workloads: services, authorizer, bundles }), credentials: credsB, log: silentLogger(), registry: registryB, onFlow: (f) => flowsB.push(f) });
  cleanups.unshift(() => b.close());
  const routes = new Map<string, ServiceRoute>(
    services.map((w) => {
      const [target, { servicePort }] = [...w.ports.entries()][0]!;
      return [`${w.name}.shop.mesh`, { namespace: 'shop', name: w.name, ports: new Map([[servicePort, [endpointOf(w, 'node-b', b.inboundAddress, target, 'eu')]]]) }];
    }),
  );
  const outboundPorts: OutboundPort[] = services.map((w) => ({ listen: { host: `${prefix}.1`, port: 0 }, host: `${w.name}.shop.mesh`, port: [...w.ports.values()][0]!.servicePort }));
  a = await startDataplane({ inbound: { host: `${prefix}.1`, port: 0 }, snapshot: makeSnapshot({ region: 'eu', trustDomain: td, workloads: [frontend], routes, outboundPorts, authorizer: new TableAuthorizer([]), bundles }), credentials: credsA, log: silentLogger(), registry: new Registry() });
  cleanups.unshift(() => a.close());
});
after(async () => {
  for (const c of cleanups) await c();
});

const outbound = (host: string): SocketAddress => {
  const addr = [...a.outboundAddresses().entries()].find(([k]) => k.startsWith(`${host}.shop.mesh:`))?.[1];
  assert.ok(addr, `an outbound port for ${host}`);
  return addr;
};

/** An h2c (prior knowledge) session to a service's outbound port, from frontend's address. */
function h2Session(service: string): ClientHttp2Session {
  const to = outbound(service);
  const s = h2connect(`http://${service}.shop.mesh`, { createConnection: () => netConnect({ host: to.host, port: to.port, localAddress: frontendAddress }) });
  s.on('error', () => undefined);
  cleanups.push(() => s.destroy());
  return s;
}

function h2Request(s: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ headers: IncomingHttpHeaders; body: string; trailers?: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const r = s.request(headers, { endStream: body === undefined });
    let got: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    r.on('response', (h) => (got = h));
    r.on('trailers', (t) => (trailers = t));
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ headers: got, body: Buffer.concat(chunks).toString(), trailers }));
    r.on('error', reject);
    if (body !== undefined) r.end(body);
  });
}

test('h2c to an http2 port: each request authorized, the checked path and our XFCC reach the app, bodies and trailers pass', async () => {
  const s = h2Session('h2echo');
  const ok = await h2Request(s, { ':method': 'POST', ':path': '/ok/../ok/x?q=1', 'x-forwarded-client-cert': 'By=forged;URI=spiffe://eu.test/ns/shop/sa/admin' }, 'payload');
  assert.equal(ok.headers[':status'], 200);
  const seen = JSON.parse(ok.body) as { method: string; path: string; xfcc: string; body: string };
  assert.deepEqual(seen, { method: 'POST', path: '/ok/x?q=1', xfcc: xfcc('h2echo'), body: 'payload' });
  assert.equal(ok.trailers?.['x-echo-trailer'], 'done');
  // On the same session: a denied request, then an allowed one.
  const denied = await h2Request(s, { ':method': 'GET', ':path': '/admin' });
  assert.equal(denied.headers[':status'], 403);
  assert.match(String(denied.headers['x-entente-deny-reason']), /no rule allows .* GET \/admin/);
  assert.match(denied.body, /^denied by policy: /);
  assert.equal((await h2Request(s, { ':method': 'GET', ':path': '/ok/again' })).headers[':status'], 200);
  assert.ok(flowsB.some((f) => f.service === 'shop/h2echo' && f.method === 'POST' && f.path === '/ok/x' && f.status === 200 && f.verdict === 'allow'));
  assert.ok(flowsB.some((f) => f.service === 'shop/h2echo' && f.path === '/admin' && f.status === 403 && f.verdict === 'deny'));
});

test('HTTP/1.1 to an http2 port is refused with 505 and the reason', async () => {
  const r = await exchange(outbound('h2echo'), frontendAddress, 'GET /ok/x HTTP/1.1\r\nhost: h2echo\r\n\r\n');
  assert.match(r.data, /^HTTP\/1\.1 505 /);
  assert.match(r.data, /declared protocol: http2/);
  assert.ok((await metricValue(registryB, 'entente_agent_inbound_refusals_total', { reason: 'http1_on_http2_port' })) >= 1);
});

test('h2c to an http port is translated to HTTP/1.1 for the app', async () => {
  const r = await h2Request(h2Session('web'), { ':method': 'GET', ':path': '/hello?x=1', 'x_forwarded_client_cert': 'forged' });
  assert.equal(r.headers[':status'], 200);
  const seen = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/hello?x=1');
  assert.equal(seen.headers.host, 'web.shop.mesh:80', 'Host is the caller’s :authority');
  assert.equal(seen.headers['x-forwarded-client-cert'], xfcc('web'));
  assert.equal(seen.headers.x_forwarded_client_cert, undefined);
});

test('gRPC: unary calls carry statuses, a denied call is PERMISSION_DENIED with the reason, a server stream streams', async () => {
  const relay = await startSourceRelay(frontendAddress, outbound('grpc'));
  cleanups.push(() => relay.close());
  const client = grpcEchoClient(`${frontendAddress}:${relay.port}`, frontendAddress);
  cleanups.push(() => client.close());
  const ok = await unary(client, 'Say', 'hello');
  assert.equal(ok.error, undefined, ok.error?.message);
  assert.deepEqual(ok.reply, { text: 'hello', caller: xfcc('grpc') });
  const denied = await unary(client, 'Secret', 'x');
  assert.equal(denied.error?.code, 7, denied.error?.message);
  assert.match(denied.error?.details ?? '', /no rule allows .* POST \/entente\.test\.Echo\/Secret/);
  const stream = await countAll(client, 5);
  assert.equal(stream.error, undefined, stream.error?.message);
  assert.deepEqual(stream.texts, ['1', '2', '3', '4', '5']);
  await eventually(() => flowsB.some((f) => f.path === '/entente.test.Echo/Say' && f.grpcStatus === 0) && flowsB.some((f) => f.path === '/entente.test.Echo/Secret' && f.grpcStatus === 7), { what: 'gRPC flow records with statuses', timeoutMs: 60_000 });
});

test('gRPC to an app that is not listening ends with UNAVAILABLE from the agent', async () => {
  const relay = await startSourceRelay(frontendAddress, outbound('grpcdown'));
  cleanups.push(() => relay.close());
  const client = grpcEchoClient(`${frontendAddress}:${relay.port}`, frontendAddress);
  cleanups.push(() => client.close());
  const r = await unary(client, 'Say', 'x');
  assert.equal(r.error?.code, 14, r.error?.message);
  assert.match(r.error?.details ?? '', /app at .* failed/);
});

test('WebSocket: an allowed upgrade echoes both ways with our XFCC; a denied one is a 403, no upgrade', async () => {
  const to = outbound('ws');
  const ws = new WebSocket(`ws://${to.host}:${to.port}/ws/chat`, { localAddress: frontendAddress, headers: { 'x-forwarded-client-cert': 'forged' } });
  cleanups.push(() => ws.terminate());
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(String(m)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send('one');
  ws.send('two');
  await eventually(() => messages.length >= 3, { what: 'echoes', timeoutMs: 60_000 });
  assert.deepEqual(messages, [`xfcc:${xfcc('ws')}`, 'echo:one', 'echo:two']);
  ws.close();
  await eventually(() => flowsB.some((f) => f.service === 'shop/ws' && f.status === 101 && f.verdict === 'allow'), { what: 'the WebSocket flow record', timeoutMs: 60_000 });

  const status = await upgradeStatus(`ws://${to.host}:${to.port}/private`, frontendAddress);
  assert.equal(status, 403);
});

test('a gRPC deadline (grpc-timeout) is enforced by the destination agent: DEADLINE_EXCEEDED from the agent, the call recorded as a timeout', async () => {
  const s = h2Session('h2echo');
  // The request body never ends, so the app never answers: only the deadline can end the call.
  const r = s.request({ ':method': 'POST', ':path': '/ok/hang', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' }, { endStream: false });
  r.write(Buffer.from([0, 0, 0, 0, 0]));
  const started = Date.now();
  const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    r.once('response', resolve);
    r.once('error', reject);
  });
  assert.equal(headers['grpc-status'], '4', JSON.stringify(headers));
  assert.match(String(headers['grpc-message']), /deadline/);
  assert.ok(Date.now() - started >= 250, 'not before the deadline');
  r.destroy();
  const f = await eventually(() => flowsB.find((x) => x.path === '/ok/hang'), { what: 'the timed-out call in the flows', timeoutMs: 60_000 });
  assert.equal(f.verdict, 'error');
  assert.equal(f.grpcStatus, 4);
});
