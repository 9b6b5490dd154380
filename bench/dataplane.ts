// Data plane benchmark: an upstream HTTP server (nginx when installed) loaded
// by wrk (or a bounded Node load generator) for ~10 s per scenario:
//   direct          client -> upstream
//   mesh            client -> agent A outbound port -> pooled h2 mTLS -> agent B inbound -> upstream
//                   (agents in one process, and with --two-processes also in two)
//   haproxy         client -> HAProxy A -> per-connection mTLS -> HAProxy B -> upstream (when installed)
//   attest          fresh connections (one request each) through agent A, its caller's Workload
//                   declaring no selectors / uid only / uid + executable: the attestation cost,
//                   rounds interleaved A B C A B C, reported as the median of per-round ratios
// Prints req/s and p99 per scenario and ratios; writes bench/results/dataplane.json.
// Usage: npm run bench -- dataplane [--duration 10] [--connections 32] [--two-processes]
//        [--only direct,mesh,mesh2,haproxy,attest]
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate, randomInt } from 'node:crypto';
import { createServer as createHttpServer, request, Agent } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { Registry } from 'prom-client';
import { LocalCa } from '../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../src/identity/keys.js';
import { SpiffeId, parseTrustDomain, type TrustDomain } from '../src/identity/spiffe-id.js';
import { formatMeshSni } from '../src/mesh/sni-name.js';
import { silentLogger } from '../src/core/log.js';
import type { SocketAddress } from '../src/core/address.js';
import type { Authorizer, DataplaneSnapshot, LocalWorkload, OutboundPort, ServiceRoute, WorkloadCredentials } from '../src/agent/dataplane/dataplane-snapshot.js';
import { startDataplane, type Dataplane } from '../src/agent/dataplane/index.js';
import { compileSelectors, type AttestSelectors } from '../src/agent/attest/attest-selectors.js';
import { NO_ACCOUNTS } from '../src/agent/attest/node-accounts.js';
import { DEFAULT_TRAFFIC_TABLE } from '../src/policy/traffic-policy.js';

const here = dirname(fileURLToPath(import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

interface Result {
  readonly name: string;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const has = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(a && typeof a === 'object' ? a.port : 0));
    });
  });
}

async function waitListening(a: SocketAddress, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const r = request({ host: a.host, port: a.port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve(true);
      });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answers HTTP on ${a.host}:${a.port}`);
}

// ---------- the two agents' world ----------

const allowAll: Authorizer = { authorize: () => ({ kind: 'allow', policy: 'bench', rule: 0 }) };

function snapshotOf(td: TrustDomain, caPem: string, workloads: LocalWorkload[], routes: Map<string, ServiceRoute>, outboundPorts: OutboundPort[]): DataplaneSnapshot {
  const roots = [new X509Certificate(caPem)];
  return {
    generation: 1,
    region: 'eu',
    trustDomain: td,
    localWorkloadsByAddress: new Map(workloads.map((w) => [w.address, w])),
    localWorkloadsByName: new Map(workloads.map((w) => [`${w.namespace}/${w.name}`, w])),
    routes,
    outboundPorts,
    authorizer: allowAll,
    traffic: DEFAULT_TRAFFIC_TABLE,
    authoritiesFor: (t) => (t === td ? roots : undefined),
    allAuthoritiesPem: [caPem],
    regionOf: (t) => (t === td ? 'eu' : undefined),
  };
}

const creds = async (ca: LocalCa, id: SpiffeId): Promise<WorkloadCredentials> => {
  const keys = await generateKeyPair();
  const svid = await ca.issue(id, keys.publicKey, 3_600_000);
  return { spiffeId: id, certChainPem: svid.chainPem, privateKeyPem: await privateKeyToPem(keys.privateKey), notAfter: svid.notAfter };
};

interface AgentBConfig {
  prefix: string;
  caPem: string;
  catalogAddress: string;
  /** The upstream's port: catalog's only declared (tcp) target port, Service port 80. */
  catalogPort: number;
  catalogCreds: { certChainPem: string; privateKeyPem: string; notAfter: number };
}

async function startAgentB(c: AgentBConfig): Promise<Dataplane> {
  const td = parseTrustDomain('eu.test');
  const catalog: LocalWorkload = { name: 'catalog', namespace: 'shop', service: 'catalog', spiffeId: SpiffeId.forWorkload(td, 'shop', 'catalog'), address: c.catalogAddress, ports: new Map([[c.catalogPort, { servicePort: 80, protocol: 'tcp' }]]) };
  const cc: WorkloadCredentials = { spiffeId: catalog.spiffeId, certChainPem: c.catalogCreds.certChainPem, privateKeyPem: c.catalogCreds.privateKeyPem, notAfter: new Date(c.catalogCreds.notAfter) };
  return startDataplane({
    inbound: { host: `${c.prefix}.2`, port: 0 },
    snapshot: snapshotOf(td, c.caPem, [catalog], new Map(), []),
    credentials: { credentialsFor: () => cc },
    log: silentLogger(),
    registry: new Registry(),
  });
}

/** Child-process mode: agent B alone, configured over IPC. */
async function agentBChild(): Promise<void> {
  process.once('message', (c: AgentBConfig) => {
    void startAgentB(c).then(
      (b) => {
        process.send?.({ inbound: b.inboundAddress });
        process.once('disconnect', () => void b.close().then(() => process.exit(0)));
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

interface MeshUnderTest {
  readonly entry: SocketAddress;
  /** Swaps in a snapshot where frontend's Workload declares these selectors (none: address only). */
  setFrontendAttest(attest: AttestSelectors | undefined): Promise<void>;
  close(): Promise<void>;
}

async function startMeshAgents(dir: string, prefix: string, upstream: SocketAddress, twoProcesses: boolean): Promise<MeshUnderTest> {
  const td = parseTrustDomain('eu.test');
  const ca = await LocalCa.loadOrCreate(join(dir, 'ca-mesh'), td);
  // wrk cannot bind a source address; loopback connections come from 127.0.0.1, so that is the frontend's address.
  const frontend: LocalWorkload = { name: 'frontend', namespace: 'shop', service: 'frontend', spiffeId: SpiffeId.forWorkload(td, 'shop', 'frontend'), address: '127.0.0.1', ports: new Map() };
  const catalogId = SpiffeId.forWorkload(td, 'shop', 'catalog');
  const cc = await creds(ca, catalogId);
  const cfg: AgentBConfig = { prefix, caPem: ca.caCertPem, catalogAddress: upstream.host, catalogPort: upstream.port, catalogCreds: { certChainPem: cc.certChainPem, privateKeyPem: cc.privateKeyPem, notAfter: cc.notAfter.getTime() } };
  let b: Dataplane | undefined;
  let child: ChildProcess | undefined;
  let bInbound: SocketAddress;
  if (twoProcesses) {
    child = fork(thisFile, ['--agent-b'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const c = child;
    bInbound = await new Promise<SocketAddress>((resolve, reject) => {
      c.once('message', (m: { inbound: SocketAddress }) => resolve(m.inbound));
      c.once('exit', (code) => reject(new Error(`agent B process exited (${code})`)));
      c.send(cfg);
    });
  } else {
    b = await startAgentB(cfg);
    bInbound = b.inboundAddress;
  }
  const endpoint = {
    spiffeId: catalogId,
    sni: formatMeshSni({ workload: 'catalog', namespace: 'shop', node: 'node-b', trustDomain: td }),
    dial: bInbound,
    authority: `${upstream.host}:${upstream.port}`,
    region: 'eu',
    weight: 1,
  };
  const routes = new Map<string, ServiceRoute>([['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[80, [endpoint]]]) }]]);
  const fc = await creds(ca, frontend.spiffeId);
  const outboundPorts: OutboundPort[] = [{ listen: { host: `${prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 80 }];
  const a = await startDataplane({
    inbound: { host: `${prefix}.1`, port: 0 },
    snapshot: snapshotOf(td, ca.caCertPem, [frontend], routes, outboundPorts),
    credentials: { credentialsFor: () => fc },
    log: silentLogger(),
    registry: new Registry(),
  });
  const entry = a.outboundAddresses().get('catalog.shop.mesh:80');
  if (!entry) throw new Error('agent A opened no outbound listener');
  return {
    entry,
    setFrontendAttest: (attest) => a.setSnapshot(snapshotOf(td, ca.caCertPem, [attest ? { ...frontend, attest } : frontend], routes, outboundPorts)),
    async close() {
      await a.close();
      await b?.close();
      if (child) {
        const c = child;
        await new Promise<void>((r) => {
          c.once('exit', () => r());
          c.disconnect();
          setTimeout(() => c.kill(), 3000).unref();
        });
      }
    },
  };
}

// ---------- upstream ----------

async function startUpstream(dir: string, at: SocketAddress): Promise<{ kind: string; close(): Promise<void> }> {
  if (has('nginx')) {
    const conf = join(dir, 'nginx.conf');
    await mkdir(join(dir, 'nginx-tmp'), { recursive: true });
    const t = join(dir, 'nginx-tmp');
    await writeFile(
      conf,
      `worker_processes 1; daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 120s;
  client_body_temp_path ${t}/body; proxy_temp_path ${t}/proxy; fastcgi_temp_path ${t}/fcgi; uwsgi_temp_path ${t}/uwsgi; scgi_temp_path ${t}/scgi;
  server { listen ${at.host}:${at.port}; location / { return 200 "ok\\n"; } }
}
`,
    );
    const p = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
    await waitListening(at);
    return {
      kind: 'nginx 1 worker',
      close: () =>
        new Promise((r) => {
          p.once('exit', () => r());
          p.kill('SIGQUIT');
          setTimeout(() => p.kill('SIGKILL'), 3000).unref();
        }),
    };
  }
  const server = createHttpServer({ keepAlive: true }, (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }).end('ok\n'));
  await new Promise<void>((r) => server.listen(at.port, at.host, () => r()));
  return {
    kind: 'node http',
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------- HAProxy pair with per-connection mTLS ----------

async function startHaproxyPair(dir: string, prefix: string, upstream: SocketAddress): Promise<{ entry: SocketAddress; close(): Promise<void> }> {
  const td = parseTrustDomain('eu.test');
  const ca = await LocalCa.loadOrCreate(join(dir, 'ca-haproxy'), td);
  const server = await creds(ca, SpiffeId.forWorkload(td, 'shop', 'catalog'));
  const client = await creds(ca, SpiffeId.forWorkload(td, 'shop', 'frontend'));
  await writeFile(join(dir, 'ca.pem'), ca.caCertPem);
  await writeFile(join(dir, 'server.pem'), server.certChainPem + server.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'client.pem'), client.certChainPem + client.privateKeyPem, { mode: 0o600 });
  const aAddr = { host: `${prefix}.3`, port: await freePort(`${prefix}.3`) };
  const bAddr = { host: `${prefix}.4`, port: await freePort(`${prefix}.4`) };
  const common = `global\n  maxconn 4000\n  nbthread 1\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n`;
  await writeFile(
    join(dir, 'haproxy-a.cfg'),
    `${common}frontend in\n  bind ${aAddr.host}:${aAddr.port}\n  default_backend out\nbackend out\n  server b ${bAddr.host}:${bAddr.port} ssl crt ${join(dir, 'client.pem')} ca-file ${join(dir, 'ca.pem')} verify required ssl-min-ver TLSv1.3\n`,
  );
  await writeFile(
    join(dir, 'haproxy-b.cfg'),
    `${common}frontend in\n  bind ${bAddr.host}:${bAddr.port} ssl crt ${join(dir, 'server.pem')} ca-file ${join(dir, 'ca.pem')} verify required ssl-min-ver TLSv1.3\n  default_backend app\nbackend app\n  server app ${upstream.host}:${upstream.port}\n`,
  );
  const procs = ['haproxy-b.cfg', 'haproxy-a.cfg'].map((f) => spawn('haproxy', ['-db', '-f', join(dir, f)], { stdio: ['ignore', 'ignore', 'inherit'] }));
  await waitListening(aAddr);
  return {
    entry: aAddr,
    close: async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((r) => {
              if (p.exitCode !== null) return r();
              p.once('exit', () => r());
              p.kill('SIGTERM');
              setTimeout(() => p.kill('SIGKILL'), 3000).unref();
            }),
        ),
      );
    },
  };
}

// ---------- load ----------

function parseLatencyMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

function runWrk(name: string, at: SocketAddress, connections: number, durationS: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', ['-t2', `-c${connections}`, `-d${durationS}s`, '--latency', `http://${at.host}:${at.port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', reject);
    p.once('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      const p50 = parseLatencyMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
      const p99 = parseLatencyMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = (errs ? errs.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + non2xx;
      if (!Number.isFinite(rps)) reject(new Error(`wrk output not understood:\n${out}`));
      else resolve({ name, rps, p50Ms: p50, p99Ms: p99, errors });
    });
  });
}

/** Fallback load generator in a child process (so it does not share the agents' event loop). */
function runNodeLoad(name: string, at: SocketAddress, connections: number, durationS: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [thisFile, '--loadgen', at.host, String(at.port), String(connections), String(durationS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', reject);
    p.once('exit', () => {
      try {
        resolve({ name, ...(JSON.parse(out) as Omit<Result, 'name'>) });
      } catch {
        reject(new Error(`load generator output not understood: ${out}`));
      }
    });
  });
}

/** Fresh connections: one request per TCP connection, so every request pays the agent's per-connection work. */
function runFreshConnections(name: string, at: SocketAddress, connections: number, durationS: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [thisFile, '--loadgen-fresh', at.host, String(at.port), String(connections), String(durationS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', reject);
    p.once('exit', () => {
      try {
        resolve({ name, ...(JSON.parse(out) as Omit<Result, 'name'>) });
      } catch {
        reject(new Error(`load generator output not understood: ${out}`));
      }
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * The attestation cost: the same fresh-connection load with frontend's
 * Workload declaring no selectors, uid only (the socket's owner: one
 * sock_diag request, or /proc/net/tcp without the addon) and uid +
 * executable (the process holding the socket too).
 * Variants alternate within each round, so drift in machine load hits all
 * alike; ratios are per round, then the median.
 */
async function attestScenario(mesh: MeshUnderTest, connections: number, roundS: number, rounds: number): Promise<{ results: Result[]; ratios: Record<string, number> }> {
  const variants: { name: string; attest: AttestSelectors | undefined }[] = [
    { name: 'fresh connections, no selectors', attest: undefined },
    { name: 'fresh connections, uid', attest: compileSelectors({ uid: process.getuid?.() ?? 0 }, NO_ACCOUNTS) },
    { name: 'fresh connections, uid + executable', attest: compileSelectors({ uid: process.getuid?.() ?? 0, executable: process.execPath }, NO_ACCOUNTS) },
  ];
  const perRound: Result[][] = variants.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, v] of variants.entries()) {
      await mesh.setFrontendAttest(v.attest);
      perRound[i]!.push(await runFreshConnections(v.name, mesh.entry, connections, roundS));
    }
  }
  await mesh.setFrontendAttest(undefined);
  const results = variants.map((v, i) => {
    const rs = perRound[i]!;
    return { name: v.name, rps: median(rs.map((r) => r.rps)), p50Ms: median(rs.map((r) => r.p50Ms)), p99Ms: median(rs.map((r) => r.p99Ms)), errors: rs.reduce((a, r) => a + r.errors, 0) };
  });
  const ratio = (i: number, f: (r: Result) => number): number => median(perRound[i]!.map((r, k) => f(r) / f(perRound[0]![k]!)));
  return {
    results,
    ratios: {
      attestUidConnRateOverNone: ratio(1, (r) => r.rps),
      attestProcessConnRateOverNone: ratio(2, (r) => r.rps),
      attestUidP50OverNone: ratio(1, (r) => r.p50Ms),
      attestProcessP50OverNone: ratio(2, (r) => r.p50Ms),
    },
  };
}

async function loadgenFreshChild(host: string, port: number, connections: number, durationS: number): Promise<void> {
  const until = Date.now() + durationS * 1000;
  const lat: number[] = [];
  let errors = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const r = request({ host, port, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          lat.push(performance.now() - t0);
          resolve();
        });
      });
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  lat.sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))] ?? NaN;
  process.stdout.write(JSON.stringify({ rps: lat.length / durationS, p50Ms: q(0.5), p99Ms: q(0.99), errors }));
}

async function loadgenChild(host: string, port: number, connections: number, durationS: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const until = Date.now() + durationS * 1000;
  const lat: number[] = [];
  let errors = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const r = request({ host, port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          if (lat.length < 2_000_000) lat.push(performance.now() - t0);
          resolve();
        });
      });
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * f))] ?? NaN;
  process.stdout.write(JSON.stringify({ rps: lat.length / durationS, p50Ms: q(0.5), p99Ms: q(0.99), errors }));
}

// ---------- driver ----------

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

export async function run(args: string[]): Promise<void> {
  const durationS = Math.min(flag(args, '--duration', 10), 15);
  const connections = Math.min(flag(args, '--connections', 32), 256);
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? new Set((args[onlyArg + 1] ?? '').split(',')) : undefined;
  const want = (s: string): boolean => !only || only.has(s);
  const twoProcesses = args.includes('--two-processes') || (only?.has('mesh2') ?? false);
  const prefix = `127.${randomInt(1, 255)}.${randomInt(0, 256)}`;
  const dir = await mkdtemp(join(tmpdir(), 'entente-bench-dp-'));
  const useWrk = has('wrk');
  const load = useWrk ? runWrk : runNodeLoad;
  const results: Result[] = [];
  let attestRatios: Record<string, number> = {};
  const cleanups: (() => Promise<void>)[] = [];
  const started = Date.now();
  try {
    const upstreamAddr = { host: `${prefix}.21`, port: await freePort(`${prefix}.21`) };
    const upstream = await startUpstream(dir, upstreamAddr);
    cleanups.push(upstream.close);
    const warm = async (at: SocketAddress): Promise<void> => {
      await load('warm-up', at, connections, 1);
    };
    console.log(`upstream: ${upstream.kind} at ${upstreamAddr.host}:${upstreamAddr.port}; load: ${useWrk ? 'wrk -t2' : 'node load generator'} -c${connections} ${durationS}s; cpus: ${cpus().length}`);

    if (want('direct')) {
      await warm(upstreamAddr);
      results.push(await load('direct', upstreamAddr, connections, durationS));
    }

    if (want('mesh')) {
      const meshOne = await startMeshAgents(dir, prefix, upstreamAddr, false);
      cleanups.push(meshOne.close);
      await warm(meshOne.entry);
      results.push(await load('entente mesh (2 agents, 1 process)', meshOne.entry, connections, durationS));
      await meshOne.close();
      cleanups.pop();
    }

    if (only?.has('attest')) {
      // Opt-in only: it measures connection set-up, not throughput.
      const m = await startMeshAgents(dir, prefix, upstreamAddr, false);
      cleanups.push(m.close);
      await runFreshConnections('warm-up', m.entry, 8, 1);
      const a = await attestScenario(m, 8, Math.min(durationS, 3), 3);
      results.push(...a.results);
      attestRatios = a.ratios;
      await m.close();
      cleanups.pop();
    }

    if (twoProcesses && want('mesh2')) {
      const meshTwo = await startMeshAgents(dir, `${prefix}`, upstreamAddr, true);
      cleanups.push(meshTwo.close);
      await warm(meshTwo.entry);
      results.push(await load('entente mesh (2 agents, 2 processes)', meshTwo.entry, connections, durationS));
      await meshTwo.close();
      cleanups.pop();
    }

    if (!want('haproxy')) {
      /* not asked for */
    } else if (has('haproxy')) {
      const hp = await startHaproxyPair(dir, prefix, upstreamAddr);
      cleanups.push(hp.close);
      await warm(hp.entry);
      results.push(await load('haproxy pair (per-connection mTLS)', hp.entry, connections, durationS));
    } else {
      console.log('haproxy not installed: comparison skipped (scripts/setup-test-deps.sh installs it)');
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }

  const direct = results.find((r) => r.name === 'direct');
  const mesh = results.find((r) => r.name.startsWith('entente mesh (2 agents, 1'));
  const mesh2 = results.find((r) => r.name.startsWith('entente mesh (2 agents, 2'));
  const hap = results.find((r) => r.name.startsWith('haproxy'));
  console.log('\nscenario                                    req/s      p50 ms   p99 ms   errors');
  for (const r of results) {
    console.log(`${r.name.padEnd(42)} ${r.rps.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(2).padStart(9)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.errors).padStart(8)}`);
  }
  const ratios: Record<string, number> = {};
  if (direct && mesh) ratios.meshOverDirect = mesh.rps / direct.rps;
  if (hap && mesh) ratios.meshOverHaproxy = mesh.rps / hap.rps;
  if (direct && mesh2) ratios.mesh2ProcessesOverDirect = mesh2.rps / direct.rps;
  if (hap && mesh2) ratios.mesh2ProcessesOverHaproxy = mesh2.rps / hap.rps;
  Object.assign(ratios, attestRatios);
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}`);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverageAtEnd: (await import('node:os')).loadavg(),
    tool: useWrk ? 'wrk -t2 --latency' : 'node load generator',
    connections,
    durationS,
    elapsedS: Math.round((Date.now() - started) / 1000),
    scenarios: results,
    ratios,
  };
  await mkdir(join(here, '..', '..', 'bench', 'results'), { recursive: true });
  // The attestation scenario alone goes to its own file, so it does not replace the throughput results.
  const attestOnly = only?.size === 1 && only.has('attest');
  const outFile = join(here, '..', '..', 'bench', 'results', attestOnly ? 'dataplane-attest.json' : 'dataplane.json');
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${outFile}`);
}

// Child modes: agent B in its own process, and the fallback load generator.
if (process.argv[1] === thisFile) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === '--agent-b') void agentBChild();
  else if (mode === '--loadgen') void loadgenChild(rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3]));
  else if (mode === '--loadgen-fresh') void loadgenFreshChild(rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3]));
}
