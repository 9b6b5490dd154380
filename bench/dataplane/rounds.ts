// The measurement loop: every round runs each part over each variant back to
// back (throughput, then new connections, then 1k req/s open loop), so rounds
// interleave A B A B … and a ratio is taken within a round. While traffic
// crosses the agents at 1k req/s, their CPU and memory are sampled from /proc.
import { runWrk, type WrkResult } from './wrk.js';
import { runOpenLoop, type OpenLoopResult } from './open-loop.js';
import { clockTicksPerSecond, sampleProcess, type ProcSample } from './proc-stat.js';
import { CLOSED_LOOP_ORDER, LABELS, OPEN_LOOP_ORDER, type Variant, type VariantId } from './variants.js';
import type { Part } from './cli-options.js';
import { waitQuiet } from './wait-quiet.js';

export const OPEN_LOOP_RATE = 1000;
const WRK_THREADS = 2;
const RSS_SAMPLE_MS = 250;

export interface AgentUse {
  /** CPU seconds the agent used over the window, per 1,000 successful requests: vCPUs at 1,000 req/s. */
  readonly vcpuPer1k: number;
  readonly cpuSeconds: number;
  readonly windowS: number;
  readonly rssMaxBytes: number;
}

export interface OpenLoopRun extends OpenLoopResult {
  readonly agents?: { readonly a: AgentUse; readonly b: AgentUse };
}

export interface RoundResult {
  readonly throughput: Partial<Record<VariantId, WrkResult>>;
  readonly newconn: Partial<Record<VariantId, WrkResult>>;
  readonly openLoop: Partial<Record<VariantId, OpenLoopRun>>;
  readonly loadAverage: number[];
}

export interface RoundsPlan {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  readonly parts: ReadonlySet<Part>;
  readonly variants: ReadonlyMap<VariantId, Variant>;
  readonly agentPids: { readonly a: number; readonly b: number };
  /** Every process under test (agents, HAProxy): each run starts once they are idle. */
  readonly quietPids: readonly number[];
  readonly say: (line: string) => void;
  readonly loadAverage: () => number[];
}

function agentUse(first: ProcSample | undefined, last: ProcSample | undefined, rssMax: number, ok: number): AgentUse | undefined {
  if (!first || !last) return undefined;
  const cpuSeconds = (last.cpuTicks - first.cpuTicks) / clockTicksPerSecond();
  return { cpuSeconds, windowS: (last.atMs - first.atMs) / 1000, vcpuPer1k: ok > 0 ? (cpuSeconds * 1000) / ok : NaN, rssMaxBytes: Math.max(rssMax, first.rssBytes, last.rssBytes) };
}

/** One open-loop run; over the agents, charges each its own CPU time between the schedule's start and the last answer. */
async function openLoopOver(v: Variant, plan: RoundsPlan): Promise<OpenLoopRun> {
  const spec = { host: v.entry.host, port: v.entry.port, path: v.path, ...(v.hostHeader ? { hostHeader: v.hostHeader } : {}), rate: OPEN_LOOP_RATE, durationS: plan.durationS, connections: 16, maxConnections: 256, timeoutMs: 5000 };
  if (!v.throughAgents) return runOpenLoop(spec);
  const pids = plan.agentPids;
  const first: { a?: ProcSample; b?: ProcSample } = {};
  const last: { a?: ProcSample; b?: ProcSample } = {};
  const rss = { a: 0, b: 0 };
  let timer: NodeJS.Timeout | undefined;
  const sampleRss = (): void => {
    rss.a = Math.max(rss.a, sampleProcess(pids.a)?.rssBytes ?? 0);
    rss.b = Math.max(rss.b, sampleProcess(pids.b)?.rssBytes ?? 0);
  };
  try {
    const r = await runOpenLoop(spec, {
      onStarted: () => {
        first.a = sampleProcess(pids.a);
        first.b = sampleProcess(pids.b);
        timer = setInterval(sampleRss, RSS_SAMPLE_MS);
      },
      onFinished: () => {
        last.a = sampleProcess(pids.a);
        last.b = sampleProcess(pids.b);
        clearInterval(timer);
      },
    });
    const a = agentUse(first.a, last.a, rss.a, r.ok);
    const b = agentUse(first.b, last.b, rss.b, r.ok);
    return a && b ? { ...r, agents: { a, b } } : r;
  } finally {
    clearInterval(timer);
  }
}

const fmt = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

export async function runRounds(plan: RoundsPlan): Promise<RoundResult[]> {
  const want = (p: Part): boolean => plan.parts.has(p);
  const closed = CLOSED_LOOP_ORDER.filter((id) => plan.variants.has(id));
  // Resources alone need only the runs over the agents.
  const open = OPEN_LOOP_ORDER.filter((id) => plan.variants.has(id) && (want('open-loop') || (want('resources') && plan.variants.get(id)!.throughAgents)));
  const settle = async (what: string): Promise<void> => {
    if (!(await waitQuiet(plan.quietPids))) plan.say(`warning: the processes under test were still busy before ${what}; measuring anyway`);
  };
  const wrk = async (v: Variant, newConnections: boolean, durationS = plan.durationS): Promise<WrkResult> => {
    await settle(`${LABELS[v.id]}${newConnections ? ' (new connections)' : ''}`);
    return runWrk({ target: v.entry, connections: plan.connections, durationS, threads: WRK_THREADS, newConnections, ...(v.wrkScript ? { script: v.wrkScript } : {}) });
  };

  // Warm-up, not recorded: JIT, pooled sessions and HAProxy's server connections.
  const measured = new Set([...(want('throughput') || want('newconn') ? closed : []), ...open]);
  for (const id of CLOSED_LOOP_ORDER.filter((x) => measured.has(x))) await wrk(plan.variants.get(id)!, false, 1);

  const rounds: RoundResult[] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    const r: RoundResult = { throughput: {}, newconn: {}, openLoop: {}, loadAverage: plan.loadAverage() };
    if (want('throughput')) {
      for (const id of closed) {
        const w = await wrk(plan.variants.get(id)!, false);
        r.throughput[id] = w;
        plan.say(`round ${round} throughput   ${LABELS[id].padEnd(28)} ${fmt(w.rps, 0).padStart(8)} req/s  p99 ${fmt(w.p99Ms)} ms  errors ${w.errors}`);
      }
    }
    if (want('newconn')) {
      for (const id of closed) {
        const w = await wrk(plan.variants.get(id)!, true);
        r.newconn[id] = w;
        plan.say(`round ${round} new conn     ${LABELS[id].padEnd(28)} ${fmt(w.rps, 0).padStart(8)} req/s  p99 ${fmt(w.p99Ms)} ms  errors ${w.errors}`);
      }
    }
    for (const id of open) {
      await settle(`${LABELS[id]} at 1k req/s`);
      const o = await openLoopOver(plan.variants.get(id)!, plan);
      r.openLoop[id] = o;
      const use = o.agents ? `  vCPU/1k A ${fmt(o.agents.a.vcpuPer1k, 3)} B ${fmt(o.agents.b.vcpuPer1k, 3)}` : '';
      plan.say(`round ${round} 1k open loop ${LABELS[id].padEnd(28)} p50 ${fmt(o.p50Ms)} p90 ${fmt(o.p90Ms)} p99 ${fmt(o.p99Ms)} ms  errors ${o.errors}  late ${o.lateStarts}${use}`);
    }
    rounds.push(r);
  }
  return rounds;
}
