// Enrollment cost: (a) a NEW agent from join token in hand to its first
// successful request through the mesh (against a real controller process), and
// (b) the region CA's SVID issuance rate on one core.
// Agents run in-process (the protocol's cost) and as `entente agent` processes
// (what a fresh edge device sees: adds Node and CLI start-up).
// `npm run bench -- enroll [--agents 10] [--issue-seconds 5]` (BENCH_AGENT_LOG=1 shows the
// in-process agents' logs, to see the phases); writes bench/results/enroll.json.
import { CLI_PATH } from '../src/lab/process-supervisor.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createServer, request, type Server } from 'node:http';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../src/core/atomic-file.js';
import { eventually } from '../src/core/eventually.js';
import { httpJson } from '../src/core/http-get-json.js';
import { createLogger, silentLogger } from '../src/core/log.js';
import { startAgent, type RunningAgent } from '../src/agent/agent.js';
import { agentConfigSchema } from '../src/agent/agent-config.js';
import { LocalCa } from '../src/identity/local-ca.js';
import { generateKeyPair } from '../src/identity/keys.js';
import { createCsrPem } from '../src/identity/csr.js';
import { SpiffeId, parseTrustDomain } from '../src/identity/spiffe-id.js';
import { API_VERSION } from '../src/policy/resources.js';

// The shipped bin (the bundle), as a user starts an agent.
const CLI = CLI_PATH;
const TD = 'bench.entente.test';
const NS = 'bench';
const APP_PORT = 8080;
const GOAL_MS = 300;

interface Options {
  /** New agents per mode. */
  agents: number;
  issueSeconds: number;
}

type AgentMode = 'in-process' | 'process';
const MODES: readonly AgentMode[] = ['in-process', 'process'];

function parseArgs(args: string[]): Options {
  const o: Options = { agents: 10, issueSeconds: 5 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--agents') o.agents = Math.max(1, Math.min(20, Number(args[++i]) || 10));
    else if (a === '--issue-seconds') o.issueSeconds = Math.max(1, Math.min(10, Number(args[++i]) || 5));
  }
  return o;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

/** One Service + Workload pair per node: "echo-i" (the app) and "client-i" (the caller), both on node bench-node-i. */
function resourcesYaml(prefix: string, n: number): string {
  const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NS }, spec });
  const docs: string[] = [];
  for (let i = 1; i <= n; i++) {
    const node = `bench-node-${i}`;
    docs.push(doc('Service', `echo-${i}`, { ports: [{ port: 80, targetPort: APP_PORT, protocol: 'http' }] }));
    docs.push(doc('Workload', `echo-${i}`, { service: `echo-${i}`, serviceAccount: 'echo', node, address: `${prefix}.${100 + i}` }));
    docs.push(doc('Service', `client-${i}`, { ports: [{ port: 80, targetPort: APP_PORT, protocol: 'http' }] }));
    docs.push(doc('Workload', `client-${i}`, { service: `client-${i}`, serviceAccount: 'client', node, address: `${prefix}.${150 + i}` }));
  }
  docs.push(
    doc('AuthorizationPolicy', 'client-may-call-echo', {
      selector: { services: Array.from({ length: n }, (_, k) => `echo-${k + 1}`) },
      action: 'ALLOW',
      rules: [{ from: [{ principals: [`spiffe://${TD}/ns/${NS}/sa/client`] }] }],
    }),
  );
  return docs.join('---\n');
}

function startEcho(host: string): Promise<Server> {
  const s = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('echo\n'));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(APP_PORT, host, () => resolve(s));
  });
}

/** One GET through the agent's HTTP proxy from the client workload's own address; true on a 200 from the echo app. */
function probe(proxy: { host: string; port: number }, from: string, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: proxy.host, port: proxy.port, path: url, localAddress: from, headers: { host: new URL(url).host }, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'echo\n'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function firstSuccess(proxy: { host: string; port: number }, from: string, url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe(proxy, from, url)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no successful request to ${url} within ${timeoutMs} ms`);
}

function waitExit(c: ChildProcess, graceMs = 3000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

async function measureEnrollment(dir: string, o: Options): Promise<Record<AgentMode, number[]>> {
  const total = o.agents * MODES.length;
  // A loopback /24 of our own: fixed ports, no collision with anyone else's listeners.
  const prefix = `127.${randomInt(20, 250)}.${randomInt(100, 250)}`;
  const ctlIp = `${prefix}.1`;
  mkdirSync(join(dir, 'resources'), { recursive: true });
  writeFileSync(join(dir, 'resources', 'bench.yaml'), resourcesYaml(prefix, total));
  const regionYaml = join(dir, 'region.yaml');
  writeFileSync(
    regionYaml,
    stringify({
      region: 'bench',
      trustDomain: TD,
      dataDir: join(dir, 'controller-data'),
      resources: join(dir, 'resources'),
      listen: { agents: `${ctlIp}:15012`, peers: `${ctlIp}:15013`, admin: `${ctlIp}:15000` },
    }),
  );
  const logFd = openSync(join(dir, 'controller.log'), 'a');
  const controller = spawn(process.execPath, [CLI, 'controller', '--config', regionYaml], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const admin = `http://${ctlIp}:15000`;
  const echoes: Server[] = [];
  const agents: (RunningAgent | ChildProcess)[] = [];
  const samples: Record<AgentMode, number[]> = { 'in-process': [], process: [] };
  try {
    await eventually(async () => (await httpJson(`${admin}/v1/status`)).status === 200, { timeoutMs: 20_000, intervalMs: 50, what: 'the controller' });
    const credential = readFileSync(join(dir, 'controller-data', 'admin.token'), 'utf8').trim();
    for (let i = 1; i <= total; i++) echoes.push(await startEcho(`${prefix}.${100 + i}`));

    for (let i = 1; i <= total; i++) {
      const mode = MODES[Math.floor((i - 1) / o.agents)]!;
      const node = `bench-node-${i}`;
      const agentIp = `${prefix}.${10 + i}`;
      const res = await httpJson<{ token: string }>(`${admin}/v1/tokens`, { method: 'POST', body: { node, kind: 'agent' }, headers: { authorization: `Bearer ${credential}` } });
      if (res.status !== 200) throw new Error(`token refused for ${node}: ${JSON.stringify(res.body)}`);
      const raw = {
        node,
        controller: `https://${ctlIp}:15012`,
        joinToken: res.body.token,
        dataDir: join(dir, `agent-${i}`),
        listen: { inbound: `${agentIp}:15008`, httpProxy: `${agentIp}:15001` },
      };
      // Token in hand: the clock starts.
      const t0 = performance.now();
      if (mode === 'process') {
        const path = join(dir, `agent-${i}.yaml`);
        writeFileSync(path, stringify(raw));
        const fd = openSync(join(dir, `agent-${i}.log`), 'a');
        agents.push(spawn(process.execPath, [CLI, 'agent', '--config', path], { stdio: ['ignore', fd, fd] }));
        closeSync(fd);
      } else {
        agents.push(await startAgent(agentConfigSchema.parse(raw), process.env.BENCH_AGENT_LOG ? createLogger('agent', { node }) : silentLogger()));
      }
      await firstSuccess({ host: agentIp, port: 15001 }, `${prefix}.${150 + i}`, `http://echo-${i}.${NS}.mesh/`, 20_000);
      samples[mode].push(performance.now() - t0);
      if (process.env.BENCH_AGENT_LOG) console.error(JSON.stringify({ node, t0: Math.round(performance.timeOrigin + t0), ms: round(performance.now() - t0) }));
    }
  } finally {
    for (const a of agents) {
      if ('close' in a) await a.close().catch(() => undefined);
      else await waitExit(a);
    }
    for (const e of echoes) {
      e.closeAllConnections();
      e.close();
    }
    await waitExit(controller);
  }
  return samples;
}

async function measureIssuance(dir: string, seconds: number): Promise<{ issued: number; seconds: number; perSecond: number }> {
  const ca = await LocalCa.loadOrCreate(join(dir, 'issue-ca'), parseTrustDomain(TD));
  const id = SpiffeId.forWorkload(ca.trustDomain, NS, 'client');
  // CSRs made up front: the loop measures what the controller does per request (check the proof of possession, sign).
  const csrs: string[] = [];
  for (let k = 0; k < 64; k++) csrs.push(await createCsrPem(await generateKeyPair(), id.toString()));
  const start = performance.now();
  const until = start + seconds * 1000;
  let issued = 0;
  while (performance.now() < until) {
    await ca.issueFromCsr(csrs[issued % csrs.length]!, id);
    issued++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { issued, seconds: round(elapsed, 2), perSecond: Math.round(issued / elapsed) };
}

function summarize(samplesMs: number[]): { n: number; medianMs: number; p90Ms: number; minMs: number; maxMs: number; samplesMs: number[]; goalMet: boolean } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const p90 = pct(sorted, 90);
  return { n: sorted.length, medianMs: round(pct(sorted, 50)), p90Ms: round(p90), minMs: round(sorted[0]!), maxMs: round(sorted.at(-1)!), samplesMs: samplesMs.map((v) => round(v)), goalMet: p90 < GOAL_MS };
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'entente-bench-enroll-'));
  try {
    const samples = await measureEnrollment(dir, o);
    const inProcess = summarize(samples['in-process']);
    const proc = summarize(samples.process);
    console.log(`enrollment, token in hand -> first mTLS request through the mesh (goal < ${GOAL_MS} ms):`);
    console.log(`  agent in-process:      n=${inProcess.n} median ${inProcess.medianMs} ms, p90 ${inProcess.p90Ms} ms, max ${inProcess.maxMs} ms`);
    console.log(`  agent as a new process: n=${proc.n} median ${proc.medianMs} ms, p90 ${proc.p90Ms} ms, max ${proc.maxMs} ms`);
    const issuance = await measureIssuance(dir, o.issueSeconds);
    console.log(`SVID issuance (LocalCa.issueFromCsr, one core): ${issuance.perSecond} SVIDs/s (${issuance.issued} in ${issuance.seconds} s)`);
    const result = {
      benchmark: 'enroll',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadAverage1m: round(loadavg()[0] ?? NaN, 2),
      enrollment: {
        what: 'join token in hand -> first 200 through the agent HTTP proxy to a workload on the same node (enroll with CA pin, config stream, workload SVIDs, mTLS CONNECT stream); controller is a separate process; loopback',
        goalMs: GOAL_MS,
        inProcess,
        process: { note: 'includes Node start-up and loading the entente CLI', ...proc },
      },
      svidIssuance: { what: 'LocalCa.issueFromCsr in one loop (CSR proof-of-possession check + ECDSA P-256 signature), pre-generated CSRs', ...issuance },
    };
    const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'enroll.json');
    await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`, 0o644);
    console.log(`wrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
