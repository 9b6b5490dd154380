// Gateway cost: connection setup and throughput of mTLS through the SNI gateway
// (in its own process, as deployed) versus straight to the same TLS backend, in
// the same run. `npm run bench -- gateway [--seconds 2]`; writes bench/results/gateway.json.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { Registry } from 'prom-client';
import { writeFileAtomic } from '../src/core/atomic-file.js';
import { silentLogger } from '../src/core/log.js';
import { startGateway } from '../src/gateway/gateway-server.js';
import { AgentRouteTable } from '../src/gateway/agent-route-table.js';

const TRUST_DOMAIN = 'bench.example';
const ECHO_SNI = `echo.default.node-echo.${TRUST_DOMAIN}`;
const SINK_SNI = `sink.default.node-sink.${TRUST_DOMAIN}`;

interface Pki { ca: string; cert: string; key: string; clientCert: string; clientKey: string }

function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'entente-bench-gw-'));
  const p = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=bench-ca'], { stdio: 'ignore' });
    for (const [who, ext] of [['server', `subjectAltName=DNS:${ECHO_SNI},DNS:${SINK_SNI}\n`], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
      writeFileSync(p(`${who}.ext`), ext);
      execFileSync('openssl', ['req', ...ec, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=${who}`], { stdio: 'ignore' });
      execFileSync('openssl', ['x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
        '-out', p(`${who}.pem`), '-days', '1', '-extfile', p(`${who}.ext`)], { stdio: 'ignore' });
    }
    const r = (n: string): string => readFileSync(p(n), 'utf8');
    return { ca: r('ca.pem'), cert: r('server.pem'), key: r('server.key'), clientCert: r('client.pem'), clientKey: r('client.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** mTLS backend: "echo" echoes; "sink" counts bytes and, when the client half-closes, replies with the count. */
async function startBackend(pki: Pki, mode: 'echo' | 'sink'): Promise<{ port: number; close(): Promise<void> }> {
  const server = createTlsServer({ key: pki.key, cert: pki.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: true, allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    if (mode === 'echo') { s.pipe(s); return; }
    let n = 0;
    s.on('data', (d: Buffer) => { n += d.length; });
    s.on('end', () => s.end(String(n)));
  });
  server.on('tlsClientError', () => undefined);
  const raw = new Set<Socket>();
  server.on('connection', (c: Socket) => { raw.add(c); c.on('close', () => raw.delete(c)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => {
    for (const c of raw) c.destroy();
    server.close(() => resolve());
  }) };
}

function dial(pki: Pki, port: number, servername: string) {
  return tlsConnect({ host: '127.0.0.1', port, servername, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
}

/** Sequential connections for `seconds`: connect, mTLS handshake, one byte echoed. Milliseconds each. */
async function measureSetup(pki: Pki, port: number, seconds: number): Promise<number[]> {
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end && times.length < 2000) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = dial(pki, port, ECHO_SNI);
      s.once('secureConnect', () => s.write('x'));
      s.once('data', () => { times.push(performance.now() - t0); s.destroy(); resolve(); });
      s.once('error', reject);
    });
  }
  return times;
}

/** `streams` parallel uploads for `seconds`; returns MB/s the backend acknowledged. */
async function measureThroughput(pki: Pki, port: number, seconds: number, streams: number): Promise<number> {
  const block = Buffer.alloc(64 * 1024, 7);
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: streams }, () => new Promise<number>((resolve, reject) => {
    const s = dial(pki, port, SINK_SNI);
    let reply = '';
    const stopAt = t0 + seconds * 1000;
    const pump = (): void => {
      while (performance.now() < stopAt) if (!s.write(block)) { s.once('drain', pump); return; }
      s.end();
    };
    s.once('secureConnect', pump);
    s.on('data', (d: Buffer) => { reply += d.toString(); });
    s.on('end', () => resolve(Number(reply)));
    s.on('error', reject);
  })));
  const elapsed = (performance.now() - t0) / 1000;
  return counts.reduce((a, b) => a + b, 0) / elapsed / 1e6;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));

function summarize(times: number[]) {
  return { n: times.length, p50Ms: round(percentile(times, 50)), p99Ms: round(percentile(times, 99)),
    meanMs: round(times.reduce((a, b) => a + b, 0) / Math.max(1, times.length)) };
}

/** Starts the gateway in a child process (its own event loop, as in production) and returns its port. */
async function startGatewayChild(routes: Record<string, number>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--gateway-child', JSON.stringify(routes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
  });
  return { child, port };
}

async function serveGatewayChild(routesJson: string): Promise<void> {
  const routes = new AgentRouteTable(TRUST_DOMAIN);
  routes.replace(new Map(Object.entries(JSON.parse(routesJson) as Record<string, number>).map(([node, port]) => [node, { host: '127.0.0.1', port }])));
  const gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'test', routes, log: silentLogger(), registry: new Registry() });
  process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
  process.send?.({ port: gw.address.port });
  process.on('disconnect', () => { void gw.close().then(() => process.exit(0)); });
}

/** CPU time (user + system, ms) the gateway child has used so far. */
function gatewayCpuMs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => { const { cpu } = m as { cpu: NodeJS.CpuUsage }; resolve((cpu.user + cpu.system) / 1000); });
    child.send('cpu');
  });
}

const median = (xs: number[]): number => percentile(xs, 50);

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--seconds');
  const seconds = Math.min(4, Math.max(0.5, i >= 0 ? Number(args[i + 1]) || 2 : 2));
  const pki = makePki();
  const echo = await startBackend(pki, 'echo');
  const sink = await startBackend(pki, 'sink');
  const echoPort = echo.port;
  const sinkPort = sink.port;
  const { child, port: gwPort } = await startGatewayChild({ 'node-echo': echoPort, 'node-sink': sinkPort });
  try {
    // Warm-up: JIT and TLS session caches on both paths.
    await measureSetup(pki, echoPort, 0.2);
    await measureSetup(pki, gwPort, 0.2);
    // Direct and gateway runs alternate in short rounds, so load from other processes hits both alike.
    const rounds = 3;
    const slice = seconds / rounds;
    const setup = { direct: [] as number[], gateway: [] as number[] };
    const tput = { d1: [] as number[], g1: [] as number[], d4: [] as number[], g4: [] as number[] };
    let gatewayCpu = 0;
    let gatewayMB = 0;
    const viaGateway = async (streams: number): Promise<number> => {
      const cpu0 = await gatewayCpuMs(child);
      const t0 = performance.now();
      const mbps = await measureThroughput(pki, gwPort, slice, streams);
      gatewayMB += mbps * (performance.now() - t0) / 1000;
      gatewayCpu += (await gatewayCpuMs(child)) - cpu0;
      return mbps;
    };
    for (let r = 0; r < rounds; r++) {
      setup.direct.push(...await measureSetup(pki, echoPort, slice));
      setup.gateway.push(...await measureSetup(pki, gwPort, slice));
      tput.d1.push(await measureThroughput(pki, sinkPort, slice, 1));
      tput.g1.push(await viaGateway(1));
      tput.d4.push(await measureThroughput(pki, sinkPort, slice, 4));
      tput.g4.push(await viaGateway(4));
    }
    const setupDirect = summarize(setup.direct);
    const setupGateway = summarize(setup.gateway);
    const [tput1Direct, tput1Gateway, tput4Direct, tput4Gateway] = [median(tput.d1), median(tput.g1), median(tput.d4), median(tput.g4)];
    const result = {
      benchmark: 'gateway',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      secondsPerPhase: seconds,
      rounds,
      note: 'mTLS client and backends in one process, gateway in a child process; loopback; same run',
      connectionSetup: { direct: setupDirect, gateway: setupGateway,
        p50Ratio: round(setupGateway.p50Ms / setupDirect.p50Ms), p50AddedMs: round(setupGateway.p50Ms - setupDirect.p50Ms) },
      throughput1Stream: { directMBps: round(tput1Direct, 1), gatewayMBps: round(tput1Gateway, 1), ratio: round(tput1Gateway / tput1Direct) },
      throughput4Streams: { directMBps: round(tput4Direct, 1), gatewayMBps: round(tput4Gateway, 1), ratio: round(tput4Gateway / tput4Direct) },
      gatewayCpuMsPerGB: round(gatewayCpu / (gatewayMB / 1000), 0),
      loadAverage1m: round(loadavg()[0] ?? NaN, 2),
    };
    console.log(`connection setup (connect + mTLS + 1-byte echo), p50: direct ${setupDirect.p50Ms} ms, via gateway ${setupGateway.p50Ms} ms ` +
      `(x${result.connectionSetup.p50Ratio}, +${result.connectionSetup.p50AddedMs} ms); p99 ${setupDirect.p99Ms} / ${setupGateway.p99Ms} ms`);
    console.log(`throughput 1 stream: direct ${result.throughput1Stream.directMBps} MB/s, via gateway ${result.throughput1Stream.gatewayMBps} MB/s (x${result.throughput1Stream.ratio})`);
    console.log(`throughput 4 streams: direct ${result.throughput4Streams.directMBps} MB/s, via gateway ${result.throughput4Streams.gatewayMBps} MB/s (x${result.throughput4Streams.ratio})`);
    const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'gateway.json');
    await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`, 0o644);
    console.log(`gateway process CPU: ${result.gatewayCpuMsPerGB} ms per GB spliced; 1-min load average ${result.loadAverage1m} on ${result.cpus} CPUs`);
    console.log(`wrote ${out}`);
  } finally {
    child.disconnect();
    child.kill();
    await echo.close();
    await sink.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--gateway-child') {
  void serveGatewayChild(process.argv[3] ?? '{}');
}
