// `npm run bench -- dataplane`: starts nginx, the two-agent mesh (real
// controller and agent processes) and two HAProxy pairs side by side, runs
// the interleaved rounds, prints the table and writes
// bench/results/dataplane.json (and dataplane-attest.json for the attestation
// scenario). Everything started is stopped in `finally`, even on failure.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDataplaneArgs, type DataplaneOptions } from './cli-options.js';
import { has } from './net-util.js';
import { startNginx } from './upstream.js';
import { CLIENT_ADDRESS, MESH_UPSTREAMS, startBenchMesh, type BenchMesh } from './mesh.js';
import { startHaproxyPair, writeHaproxyCerts } from './haproxy.js';
import { absoluteUriScript } from './wrk.js';
import { sampleProcess } from './proc-stat.js';
import { OPEN_LOOP_RATE, runRounds } from './rounds.js';
import { renderTable, summarizeRounds } from './report.js';
import { runAttestScenario } from './attest-scenario.js';
import type { Variant, VariantId } from './variants.js';

const RESULTS = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
/** HAProxy pairs and the attestation harness on /24s of our own loopback range (127.66.1 is the mesh's). */
const HAPROXY_NET = '127.66.2';
const ATTEST_NET = '127.66.3';

function toolVersion(cmd: string, args: string[]): string {
  try {
    // nginx prints its version on stderr.
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]!.trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    return stderr ? stderr.split('\n')[0]!.trim() : 'unknown';
  }
}

function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    kernel: release(),
    node: process.version,
    nginx: toolVersion('sh', ['-c', 'nginx -v 2>&1']),
    haproxy: toolVersion('haproxy', ['-v']),
    wrk: toolVersion('sh', ['-c', 'wrk -v 2>&1 | head -1']),
  };
}

async function writeResult(file: string, body: unknown): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, file), `${JSON.stringify(body, null, 2)}\n`);
  console.log(`wrote ${join(RESULTS, file)}`);
}

async function runSuite(o: DataplaneOptions, dir: string, closers: (() => Promise<void>)[]): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg();
  const mesh: BenchMesh = await startBenchMesh(join(dir, 'mesh'));
  closers.push(() => mesh.close());
  const certs = await writeHaproxyCerts(dir);
  const hpTcp = await startHaproxyPair(dir, 'tcp', { host: `${HAPROXY_NET}.1`, port: 8000 }, { host: `${HAPROXY_NET}.2`, port: 8443 }, MESH_UPSTREAMS.tcp, certs);
  closers.push(() => hpTcp.close());
  const hpHttp = await startHaproxyPair(dir, 'http', { host: `${HAPROXY_NET}.3`, port: 8000 }, { host: `${HAPROXY_NET}.4`, port: 8443 }, MESH_UPSTREAMS.tcp, certs);
  closers.push(() => hpHttp.close());
  const l7Host = new URL(mesh.l7Url).host;
  const variants = new Map<VariantId, Variant>([
    ['direct', { id: 'direct', entry: MESH_UPSTREAMS.tcp, path: '/', throughAgents: false }],
    ['entente-l4', { id: 'entente-l4', entry: mesh.l4Entry, path: '/', throughAgents: true }],
    ['haproxy-tcp', { id: 'haproxy-tcp', entry: hpTcp.entry, path: '/', throughAgents: false }],
    ['entente-l7', { id: 'entente-l7', entry: mesh.httpProxy, path: mesh.l7Url, hostHeader: l7Host, wrkScript: await absoluteUriScript(dir, mesh.l7Url), throughAgents: true }],
    ['haproxy-http', { id: 'haproxy-http', entry: hpHttp.entry, path: '/', throughAgents: false }],
  ]);
  // Idle: enrolled, SVIDs issued, both paths tried once, no load yet.
  const idle = { a: sampleProcess(mesh.agentPids.a)?.rssBytes, b: sampleProcess(mesh.agentPids.b)?.rssBytes };
  console.log(
    `nginx (1 worker) ← direct | agents A ${mesh.l4Entry.host} (L4 port ${mesh.l4Entry.port}, proxy ${mesh.httpProxy.port}) → B | haproxy tcp ${hpTcp.entry.host}, http ${hpHttp.entry.host}; client address ${CLIENT_ADDRESS}`,
  );
  console.log(`${o.rounds} round(s) of ${o.durationS} s per run: wrk -t2 -c${o.connections}; open loop ${OPEN_LOOP_RATE} req/s; parts ${[...o.parts].filter((p) => p !== 'attest').join(', ')}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  const rounds = await runRounds({
    rounds: o.rounds,
    durationS: o.durationS,
    connections: o.connections,
    parts: o.parts,
    variants,
    agentPids: mesh.agentPids,
    quietPids: [mesh.agentPids.a, mesh.agentPids.b, ...hpTcp.pids, ...hpHttp.pids],
    say: (line) => console.log(line),
    loadAverage: loadavg,
  });
  const idleAfter = { a: sampleProcess(mesh.agentPids.a)?.rssBytes, b: sampleProcess(mesh.agentPids.b)?.rssBytes };
  const exits = mesh.unexpectedExits();
  const summary = summarizeRounds(rounds, idle);
  if (exits.length) summary.notes.push(...exits.map((e) => `INVALID RUN: ${e}`));
  console.log(`\n${renderTable(summary, rounds.length)}`);
  await writeResult('dataplane.json', {
    ratios: summary.ratios,
    agent: summary.agent,
    addedAt1kMs: summary.addedAt1kMs,
    otherRatios: summary.otherRatios,
    addedAt1kMsByVariant: summary.addedAt1kMsByVariant,
    agentDetail: { ...summary.agentDetail, rssAfterLoadMbA: idleAfter.a ? idleAfter.a / 1048576 : null, rssAfterLoadMbB: idleAfter.b ? idleAfter.b / 1048576 : null },
    perRoundRatios: summary.perRoundRatios,
    medians: summary.medians,
    notes: summary.notes,
    method: {
      rounds: o.rounds,
      durationS: o.durationS,
      parts: [...o.parts],
      keepAlive: `wrk -t2 -c${o.connections} --latency`,
      newConnections: `wrk -t2 -c${o.connections} -H "Connection: close"`,
      openLoop: `${OPEN_LOOP_RATE} req/s, 16 keep-alive connections (up to 256), latency from the intended send time`,
      agents: 'utime+stime of /proc/<pid>/stat over each 1k req/s run, per 1,000 requests; VmRSS; MiB',
      upstream: 'nginx, 1 worker, return 200 "ok"',
      haproxy: 'two instances per mode, nbthread 1, mTLS (TLS 1.3) between them',
    },
    date: new Date().toISOString(),
    machine: machine(),
    loadAverage: { start: loadStart, end: loadavg() },
    elapsedS: Math.round((Date.now() - started) / 1000),
    unexpectedExits: exits,
    rounds,
  });
}

export async function run(args: string[]): Promise<void> {
  const parsed = parseDataplaneArgs(args);
  if (parsed.kind === 'error') throw new Error(`bench dataplane: ${parsed.errors.join('\n  ')}`);
  const o = parsed.options;
  const missing = ['nginx', 'wrk', 'haproxy'].filter((c) => !has(c));
  if (missing.length) throw new Error(`bench dataplane needs ${missing.join(', ')}: run scripts/setup-test-deps.sh (Debian packages nginx, wrk, haproxy)`);
  const suite = [...o.parts].some((p) => p !== 'attest');
  const attest = o.parts.has('attest') || o.keepAttest;
  const dir = await mkdtemp(join(tmpdir(), 'entente-bench-dp-'));
  const closers: (() => Promise<void>)[] = [];
  try {
    const nginx = await startNginx(dir, [MESH_UPSTREAMS.tcp, MESH_UPSTREAMS.http]);
    closers.push(() => nginx.close());
    if (suite) await runSuite(o, dir, closers);
    if (attest) {
      const started = Date.now();
      const r = await runAttestScenario(dir, ATTEST_NET, MESH_UPSTREAMS.tcp, o.rounds, o.durationS, (line) => console.log(line));
      for (const [k, v] of Object.entries(r.ratios)) console.log(`${k}: ${v === null ? 'null' : v.toFixed(2)}`);
      await writeResult('dataplane-attest.json', { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAverageAtEnd: loadavg(), ...r, elapsedS: Math.round((Date.now() - started) / 1000) });
    }
  } finally {
    for (const close of closers.reverse()) await close().catch((err: unknown) => console.error('bench dataplane: cleanup failed:', err));
    await rm(dir, { recursive: true, force: true });
  }
}
