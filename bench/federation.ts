// `npm run bench -- federation --regions N [--procs P] [--rounds R] [--fanout K]
// [--partition SHARE] [--pull-interval MS] [--resign-interval MS] [--stale-after MS]
// [--seed S] [--time-limit S]`: N real controllers (P processes, each controller
// on its own 127.63.x.y, real mTLS peer API), a SHARE of directed peer links
// pointed at a TCP sink on 127.64.0.1 that never answers (a dropping
// partition). After the first full convergence, R times: change one random
// region's resources and time until all N-1 others hold its new version.
// Writes bench/results/federation.json (this run at the top; earlier runs of
// other N kept under `byRegions`). The whole run is bounded by --time-limit.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/core/atomic-file.js';
import { BLACKHOLE, type MeshSpec } from './federation/topology.js';
import type { FromWorker, ToWorker } from './federation/worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const RESULT = fileURLToPath(new URL('../../bench/results/federation.json', import.meta.url));

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function intOption(args: string[], name: string, dflt: number | undefined, min: number, max: number): number | undefined {
  const v = option(args, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`bench federation: --${name} expects an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
}

function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

class Worker {
  private readonly waiting: Array<{ match: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }> = [];
  readonly child: ChildProcess;
  constructor(readonly mine: number[]) {
    // stdio inherited: a worker's crash is on the console.
    this.child = fork(join(here, 'federation', 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.env.BENCH_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : [] });
    this.child.on('message', (m: FromWorker) => {
      if (m.type === 'error') console.error(`bench federation: worker ${this.child.pid}: ${m.message}`);
      const i = this.waiting.findIndex((w) => w.match(m));
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
    });
  }
  ask<T extends FromWorker>(m: ToWorker, match: (r: FromWorker) => r is T): Promise<T> {
    return new Promise((resolve) => {
      this.waiting.push({ match, resolve: resolve as (r: FromWorker) => void });
      this.child.send(m);
    });
  }
}

const is = <K extends FromWorker['type']>(k: K) => (m: FromWorker): m is Extract<FromWorker, { type: K }> => m.type === k;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(args: string[]): Promise<void> {
  const regions = intOption(args, 'regions', 64, 2, 1000)!;
  const procs = intOption(args, 'procs', 2, 1, 16)!;
  const rounds = intOption(args, 'rounds', 10, 1, 100)!;
  const fanout = intOption(args, 'fanout', undefined, 1, 1000);
  const pullIntervalMs = intOption(args, 'pull-interval', 1000, 50, 60_000)!;
  const staleAfterMs = intOption(args, 'stale-after', 30_000, 1000, 3_600_000)!;
  const resignIntervalMs = intOption(args, 'resign-interval', undefined, 250, 3_600_000);
  const seed = intOption(args, 'seed', 1, 0, 2 ** 31)!;
  const timeLimitMs = intOption(args, 'time-limit', 180, 10, 3600)! * 1000;
  const share = Number(option(args, 'partition') ?? '0.2');
  if (!(share >= 0 && share < 1)) throw new Error('bench federation: --partition expects a share of blocked links in [0, 1)');
  const deadline = Date.now() + timeLimitMs;
  const left = () => deadline - Date.now();

  const root = join('/dev/shm', `entente-fedbench-${process.pid}`);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const spec: MeshSpec = { regions, seed, partitionShare: share, pullIntervalMs, staleAfterMs, root, ...(resignIntervalMs !== undefined ? { resignIntervalMs } : {}), ...(fanout !== undefined ? { fanout } : {}) };
  // The partition: accepted, never answered, closed only when the puller gives up.
  const sockets = new Set<Socket>();
  const sink = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined).on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => sink.once('error', reject).listen(BLACKHOLE.port, BLACKHOLE.host, resolve));
  const workers = Array.from({ length: procs }, (_, p) => new Worker(Array.from({ length: regions }, (_x, i) => i).filter((i) => i % procs === p)));
  const owner = (region: number) => workers[region % procs]!;
  const stats = async () => {
    const s = await Promise.all(workers.map((w) => w.ask({ type: 'stats' }, is('stats'))));
    return { rssKb: s.reduce((a, x) => a + x.rssKb, 0), heapKb: s.reduce((a, x) => a + x.heapUsedKb, 0), cpuUs: s.reduce((a, x) => a + x.cpuUs, 0) };
  };
  const samples: number[] = [];
  const timedOut: Array<{ region: number; missing: number }> = [];
  let result: Record<string, unknown> | undefined;
  try {
    const t0 = Date.now();
    const started = await Promise.all(workers.map((w) => w.ask({ type: 'start', spec, mine: w.mine }, is('started'))));
    const baselineRssKb = started.reduce((a, s) => a + s.baselineRssKb, 0);
    const startMs = Date.now() - t0;
    console.log(`federation: ${regions} controllers started in ${procs} processes in ${startMs} ms (fan-out ${fanout ?? 'all'}, ${Math.round(share * 100)}% of links blocked)`);
    // First convergence: every controller holds a state of every other region.
    let initialMs: number | undefined;
    while (left() > 0) {
      const p = await Promise.all(workers.map((w) => w.ask({ type: 'progress' }, is('progress'))));
      const done = p.reduce((a, x) => a + x.complete, 0);
      if (done === regions) {
        initialMs = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    console.log(initialMs === undefined ? 'federation: never fully converged before the time limit' : `federation: every controller holds every region ${initialMs} ms after start`);
    // Steady state: what the mesh costs when nothing changes (pulls and re-signing only).
    const idleMs = Math.min(5000, Math.max(0, left() / 4));
    const s0 = await stats();
    await sleep(idleMs);
    const s1 = await stats();
    for (let r = 0; r < rounds && initialMs !== undefined && left() > 2000; r++) {
      await sleep(Math.random() * 500);
      const region = Math.floor(Math.random() * regions);
      const { t0: changedAt } = await owner(region).ask({ type: 'change', region, n: r }, is('changed'));
      const reached = await Promise.all(
        workers.map((w, k) => w.ask({ type: 'watch', id: r * 100 + k, region, minVersion: changedAt, timeoutMs: Math.min(30_000, left() - 1000) }, is('reached'))),
      );
      if (reached.some((x) => x.at === undefined)) {
        timedOut.push({ region, missing: reached.reduce((a, x) => a + x.missing, 0) });
        console.log(`round ${r + 1}: r${region} did not reach everyone (${timedOut.at(-1)!.missing} missing)`);
        continue;
      }
      const ms = Math.max(...reached.map((x) => x.at!)) - changedAt;
      samples.push(ms);
      console.log(`round ${r + 1}/${rounds}: change of r${region} held by all ${regions} after ${ms} ms`);
    }
    const s2 = await stats();
    const roundsWall = (Date.now() - t0 - initialMs!) / 1000;
    const idleCpuMsPerPeerPerS = (s1.cpuUs - s0.cpuUs) / 1000 / regions / (idleMs / 1000);
    result = {
      regions,
      convergeMs: quantile(samples, 0.5),
      convergeP99Ms: quantile(samples, 0.99),
      convergeMaxMs: samples.length ? Math.max(...samples) : undefined,
      rounds: samples.length,
      roundsTimedOut: timedOut,
      initialConvergeMs: initialMs,
      rssPerPeerKb: Math.round((s2.rssKb - baselineRssKb) / regions),
      rssPerPeerGrossKb: Math.round(s2.rssKb / regions),
      heapPerPeerKb: Math.round(s2.heapKb / regions),
      idleCpuMsPerPeerPerS: Math.round(idleCpuMsPerPeerPerS * 100) / 100,
      cpuSecondsPerPeer: Math.round((s2.cpuUs / 1e6 / regions) * 1000) / 1000,
      samples: { convergeMs: samples },
      setup: {
        processes: procs, fanout: fanout ?? 'all peers', partitionShare: share, seed, pullIntervalMs, staleAfterMs, resignIntervalMs: resignIntervalMs ?? 'default',
        startMs, roundsWallS: Math.round(roundsWall), machine: 'shared 2-core VM', transport: 'real controllers, mTLS peer API over loopback',
        measured: 'from the reload request of the changed region until the last of the other N-1 logs "region state accepted" for a version at least that new',
        rssPerPeerKb: 'RSS of the bench processes after the rounds minus their RSS before any controller started, divided by N',
        cpuSecondsPerPeer: 'user+system CPU of the bench processes over the whole run (start-up included), divided by N',
      },
    };
  } finally {
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null) return resolve();
      const kill = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
      w.child.once('exit', () => { clearTimeout(kill); resolve(); });
      w.child.send({ type: 'stop' } satisfies ToWorker);
    })));
    for (const s of sockets) s.destroy();
    await new Promise((r) => sink.close(r));
    rmSync(root, { recursive: true, force: true });
  }
  let previous: { byRegions?: Record<string, unknown> } = {};
  try {
    previous = JSON.parse(readFileSync(RESULT, 'utf8')) as typeof previous;
  } catch {
    /* first run */
  }
  const byRegions = { ...(previous.byRegions ?? {}), [String(regions)]: { ...result, samples: undefined } };
  await writeFileAtomic(RESULT, `${JSON.stringify({ ...result, byRegions }, null, 2)}\n`, 0o644);
  console.log(`federation: ${regions} regions: convergeMs median ${String(result.convergeMs)} p99 ${String(result.convergeP99Ms)}, rssPerPeerKb ${String(result.rssPerPeerKb)}, idle CPU ${String(result.idleCpuMsPerPeerPerS)} ms/s per peer; written to bench/results/federation.json`);
}
