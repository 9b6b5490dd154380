// End to end, with real processes and real clients: a caller in eu calls
// test-provided apps in us through its agent's per-service outbound ports,
// the us gateway and the destination agent. HTTP/2 with curl
// --http2-prior-knowledge (to an h2c app on an http2 port, and translated to
// the HTTP/1.1 demo app), gRPC with grpc-js (statuses, a denied call, a server
// stream), WebSocket with ws, and PostgreSQL with psql over an L4 port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Http2Server } from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { PORTS } from '../../src/lab/lab-topology.js';
import { eventually } from '../../src/core/eventually.js';
import type { Lab } from '../../src/lab/lab.js';
import { exitWatchdog, randomIpPrefix, startTestMesh, testResources, testWorkloadAddress, type TestWorkload } from './lab-harness.js';
import { countAll, grpcEchoClient, startGrpcEcho, startH2cEcho, startSourceRelay, startWsEcho, unary, upgradeStatus } from '../dataplane/protocol-apps.js';
import { PG_USER, startPostgres, type PostgresServer } from './postgres-server.js';

exitWatchdog();

const run = promisify(execFile);
const REGIONS = ['eu', 'us'];
const prefix = randomIpPrefix(251, 254);
const CLIENT = 'proto-client';
const clientId = `spiffe://eu.entente.lab/ns/shop/sa/${CLIENT}`;

const workloads: TestWorkload[] = [
  // Calls only; its Service port is never used.
  { service: CLIENT, region: 'eu', node: 'eu-node-1', octet: 150, ports: [{ port: 80, targetPort: 18099, protocol: 'http' }] },
  { service: 'h2echo', region: 'us', node: 'us-node-1', octet: 151, ports: [{ port: 80, targetPort: 18080, protocol: 'http2' }] },
  { service: 'grpc', region: 'us', node: 'us-node-1', octet: 152, ports: [{ port: 50051, targetPort: 50051, protocol: 'http2' }] },
  { service: 'ws', region: 'us', node: 'us-node-2', octet: 153, ports: [{ port: 80, targetPort: 18081, protocol: 'http' }] },
  { service: 'pg', region: 'us', node: 'us-node-2', octet: 154, ports: [{ port: 5432, targetPort: 5432, protocol: 'tcp' }] },
];
const address = (service: string): string => testWorkloadAddress(REGIONS, prefix, workloads.find((w) => w.service === service)!);
const clientAddress = address(CLIENT);
/** eu-node-1's agent, where the client's outbound ports listen (lab-topology.ts numbering). */
const agentIp = `${prefix}.1.11`;
const OUTBOUND = { h2echo: 18100, grpc: 18101, ws: 18102, pg: 18103, catalog: 18104 } as const;

const cleanups: (() => Promise<unknown> | void)[] = [];
let lab: Lab;
let scratch: string;
let curls = 0;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'entente-proto-e2e-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  // The apps first: they listen on their Workload addresses before the mesh routes to them.
  const h2: Http2Server = await startH2cEcho(address('h2echo'), 18080);
  cleanups.push(() => new Promise((r) => h2.close(r)));
  const g = await startGrpcEcho(address('grpc'), 50051);
  cleanups.push(() => g.server.forceShutdown());
  const ws = await startWsEcho(address('ws'), 18081);
  cleanups.push(() => ws.wss.close(), () => new Promise((r) => ws.http.close(r)));
  const pg: PostgresServer = await startPostgres(address('pg'), 5432);
  cleanups.push(() => pg.stop());
  const allow = (service: string, to?: unknown) => ({ selector: { services: [service] }, action: 'ALLOW', rules: [{ from: [{ principals: [clientId] }], ...(to ? { to: [to] } : {}) }] });
  const extra = testResources(REGIONS, prefix, {
    workloads,
    policies: {
      'proto-h2echo': allow('h2echo', { paths: ['/ok/*'] }),
      'proto-grpc': allow('grpc', { methods: ['POST'], paths: ['/entente.test.Echo/Say', '/entente.test.Echo/Count'] }),
      'proto-ws': allow('ws', { methods: ['GET'], paths: ['/ws/*'] }),
      'proto-pg': allow('pg', { ports: [5432] }),
      'proto-catalog': allow('catalog', { methods: ['GET'] }),
    },
    outboundPorts: {
      'eu-node-1': [
        { host: 'h2echo.shop.us.mesh', port: 80, listen: `${agentIp}:${OUTBOUND.h2echo}` },
        { host: 'grpc.shop.us.mesh', port: 50051, listen: `${agentIp}:${OUTBOUND.grpc}` },
        { host: 'ws.shop.us.mesh', port: 80, listen: `${agentIp}:${OUTBOUND.ws}` },
        { host: 'pg.shop.us.mesh', port: 5432, listen: `${agentIp}:${OUTBOUND.pg}` },
        { host: 'catalog.shop.us.mesh', port: 80, listen: `${agentIp}:${OUTBOUND.catalog}` },
      ],
    },
  });
  lab = await startTestMesh(REGIONS, prefix, { extra });
  // Federation carries the new Services to eu; the first call waits for the route.
  await eventually(async () => (await curlH2('h2echo', '/ok/ready')).status === 200, { timeoutMs: 60_000, what: 'eu to route to h2echo in us' });
});
after(async () => {
  await lab?.stop();
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** curl with HTTP/2 prior knowledge from the client's address to one of its outbound ports; headers and trailers go to a file. */
async function curlH2(service: keyof typeof OUTBOUND, path: string): Promise<{ status: number; version: string; body: string; headers: string }> {
  const headerFile = join(scratch, `headers-${++curls}`);
  const args = ['-s', '-m', '20', '--http2-prior-knowledge', '--interface', clientAddress, '-D', headerFile, '-w', '\n%{http_version}', `http://${agentIp}:${OUTBOUND[service]}${path}`];
  try {
    const { stdout } = await run('curl', args);
    const headers = await readFile(headerFile, 'utf8');
    const lines = stdout.split('\n');
    const version = lines.pop() ?? '';
    return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0), version, body: lines.join('\n'), headers };
  } catch (err) {
    return { status: 0, version: '', body: String((err as Error).message), headers: '' };
  }
}

async function gatewayRouted(region: string): Promise<number> {
  const gw = lab.topology.regions.find((r) => r.name === region)!.gatewayIp;
  const text = (await run('curl', ['-s', `http://${gw}:${PORTS.gatewayMetrics}/metrics`])).stdout;
  return Number(/entente_gateway_connections_total\{[^}]*result="routed"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}

test('curl --http2-prior-knowledge: an h2c app on an http2 port gets the checked path and our XFCC; a denied path is 403', async () => {
  const ok = await curlH2('h2echo', '/ok/../ok/items?x=1');
  assert.equal(ok.status, 200, `${ok.headers}\n${ok.body}`);
  assert.equal(ok.version, '2');
  const seen = JSON.parse(ok.body) as { method: string; path: string; xfcc: string };
  assert.equal(seen.path, '/ok/items?x=1');
  assert.equal(seen.xfcc, `By=spiffe://us.entente.lab/ns/shop/sa/h2echo;URI=${clientId}`);
  assert.match(ok.headers, /x-echo-trailer: done/, 'the app\'s trailer reached curl');
  const denied = await curlH2('h2echo', '/admin');
  assert.equal(denied.status, 403, denied.headers);
  assert.match(denied.body, /^denied by policy: /);
  assert.ok((await gatewayRouted('us')) > 0, 'the calls crossed the us gateway');
});

test('curl --http2-prior-knowledge to an HTTP/1.1 app (http port) is translated by the destination agent', async () => {
  const r = await curlH2('catalog', '/items');
  assert.equal(r.status, 200, `${r.headers}\n${r.body}`);
  assert.equal(r.version, '2');
  const body = JSON.parse(r.body) as { service: string; caller: string };
  assert.equal(body.service, 'catalog');
  assert.equal(body.caller, `By=spiffe://us.entente.lab/ns/shop/sa/catalog;URI=${clientId}`);
});

test('grpc-js: a unary call succeeds with its status, a denied call is PERMISSION_DENIED with the reason, a server stream streams', async () => {
  const relay = await startSourceRelay(clientAddress, { host: agentIp, port: OUTBOUND.grpc });
  cleanups.push(() => relay.close());
  const client = grpcEchoClient(`${clientAddress}:${relay.port}`, clientAddress);
  cleanups.push(() => client.close());
  const ok = await unary(client, 'Say', 'hello');
  assert.equal(ok.error, undefined, ok.error?.message);
  assert.deepEqual(ok.reply, { text: 'hello', caller: `By=spiffe://us.entente.lab/ns/shop/sa/grpc;URI=${clientId}` });
  const denied = await unary(client, 'Secret', 'x');
  assert.equal(denied.error?.code, 7, denied.error?.message);
  assert.match(denied.error?.details ?? '', /no ALLOW rule matches/);
  const stream = await countAll(client, 50);
  assert.equal(stream.error, undefined, stream.error?.message);
  assert.deepEqual(stream.texts, Array.from({ length: 50 }, (_, i) => String(i + 1)));
});

test('WebSocket (ws): the upgrade is authorized, messages echo both ways; a denied path gets 403 and no upgrade', async () => {
  const url = `ws://${agentIp}:${OUTBOUND.ws}`;
  const ws = new WebSocket(`${url}/ws/chat`, { localAddress: clientAddress });
  cleanups.push(() => ws.terminate());
  const messages: string[] = [];
  ws.on('message', (m) => messages.push(String(m)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  for (const m of ['one', 'two', 'three']) ws.send(m);
  await eventually(() => messages.length >= 4, { timeoutMs: 60_000, what: 'the echoes' });
  assert.deepEqual(messages, [`xfcc:By=spiffe://us.entente.lab/ns/shop/sa/ws;URI=${clientId}`, 'echo:one', 'echo:two', 'echo:three']);
  ws.close();
  const status = await upgradeStatus(`${url}/private`, clientAddress);
  assert.equal(status, 403);
});

test('psql through an L4 port reaches a real PostgreSQL', async () => {
  const relay = await startSourceRelay(clientAddress, { host: agentIp, port: OUTBOUND.pg });
  cleanups.push(() => relay.close());
  const { stdout } = await run('psql', ['-h', clientAddress, '-p', String(relay.port), '-U', PG_USER, '-d', 'postgres', '-At', '-c', 'select 1'], { timeout: 60_000, env: { ...process.env, PGCONNECT_TIMEOUT: '30' } });
  assert.equal(stdout.trim(), '1');
});
