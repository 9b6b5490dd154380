// Turns the rounds into what bench/results/dataplane.json promises (ratios as
// medians of per-round ratios, the agents' CPU and memory, latency added at
// 1k req/s) and into the table printed at the end. Pure: no I/O.
import { addedRatio, median, medianOfRatios, ratio, type Ratio } from './stats.js';
import type { RoundResult } from './rounds.js';
import { CLOSED_LOOP_ORDER, LABELS, type VariantId } from './variants.js';

const MIB = 1024 * 1024;

export interface Summary {
  ratios: { l4VsHaproxy: number | null; l7VsHaproxyHttp: number | null; newConnVsHaproxy: number | null; p99AddedVsHaproxyAt1k: number | null };
  agent: { rssIdleMb: number | null; rssAt1kMb: number | null; vcpuPer1kL4: number | null; vcpuPer1kL7: number | null };
  addedAt1kMs: { p50: number | null; p90: number | null; p99: number | null };
  /** Context beyond the goals: other proxies' ratios and added latency, per-agent figures. */
  otherRatios: Record<string, number | null>;
  addedAt1kMsByVariant: Record<string, { p50: number | null; p90: number | null; p99: number | null }>;
  agentDetail: Record<string, number | null>;
  /** Per-round values behind each ratio (null where that round had none). */
  perRoundRatios: Record<string, (number | null)[]>;
  medians: Record<string, Record<string, number | null>>;
  /** Why a figure is null. */
  notes: string[];
}

const round3 = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);
const mb = (bytes: number | null | undefined): number | null => (bytes === null || bytes === undefined || !(bytes > 0) ? null : bytes / MIB);

export function summarizeRounds(rounds: readonly RoundResult[], idleRssBytes: { a?: number; b?: number }): Summary {
  const notes: string[] = [];
  const perRoundRatios: Record<string, (number | null)[]> = {};
  const paired = (name: string, per: (r: RoundResult) => Ratio): number | null => {
    const m = medianOfRatios(rounds.map(per));
    perRoundRatios[name] = m.rounds.map(round3);
    if (m.value === null && rounds.length) notes.push(`${name} is null: ${m.why ?? 'not measured'}`);
    else if (m.why) notes.push(`${name}: rounds left out: ${m.why}`);
    return round3(m.value);
  };
  const rps = (part: 'throughput' | 'newconn', x: VariantId, y: VariantId) => (r: RoundResult) => ratio(r[part][x]?.rps, r[part][y]?.rps, `${LABELS[y]} req/s`);
  const added = (x: VariantId, ref: VariantId) => (r: RoundResult) => addedRatio(r.openLoop[x]?.p99Ms, r.openLoop[ref]?.p99Ms, r.openLoop.direct?.p99Ms);
  const medianOver = (f: (r: RoundResult) => number | null | undefined): number | null => round3(median(rounds.map((r) => f(r) ?? NaN)));
  const addedMs = (x: VariantId) => {
    const q = (k: 'p50Ms' | 'p90Ms' | 'p99Ms') => medianOver((r) => (r.openLoop[x]?.[k] ?? NaN) - (r.openLoop.direct?.[k] ?? NaN));
    return { p50: q('p50Ms'), p90: q('p90Ms'), p99: q('p99Ms') };
  };
  const busier = (id: 'entente-l4' | 'entente-l7') => (r: RoundResult) => {
    const a = r.openLoop[id]?.agents;
    return a ? Math.max(a.a.vcpuPer1k, a.b.vcpuPer1k) : null;
  };
  const rssAt1k = (r: RoundResult): number | null => {
    const xs = (['entente-l4', 'entente-l7'] as const).flatMap((id) => {
      const a = r.openLoop[id]?.agents;
      return a ? [a.a.rssMaxBytes, a.b.rssMaxBytes] : [];
    });
    return xs.length ? Math.max(...xs) : null;
  };
  const agentOf = (id: 'entente-l4' | 'entente-l7', which: 'a' | 'b') => medianOver((r) => r.openLoop[id]?.agents?.[which].vcpuPer1k);

  const idle = idleRssBytes.a !== undefined && idleRssBytes.b !== undefined ? Math.max(idleRssBytes.a, idleRssBytes.b) : null;
  const summary: Summary = {
    ratios: {
      l4VsHaproxy: paired('l4VsHaproxy', rps('throughput', 'entente-l4', 'haproxy-tcp')),
      l7VsHaproxyHttp: paired('l7VsHaproxyHttp', rps('throughput', 'entente-l7', 'haproxy-http')),
      newConnVsHaproxy: paired('newConnVsHaproxy', rps('newconn', 'entente-l4', 'haproxy-tcp')),
      p99AddedVsHaproxyAt1k: paired('p99AddedVsHaproxyAt1k', added('entente-l7', 'haproxy-http')),
    },
    agent: {
      rssIdleMb: round3(mb(idle)),
      rssAt1kMb: round3(mb(median(rounds.map((r) => rssAt1k(r) ?? NaN)))),
      vcpuPer1kL4: medianOver(busier('entente-l4')),
      vcpuPer1kL7: medianOver(busier('entente-l7')),
    },
    addedAt1kMs: addedMs('entente-l7'),
    otherRatios: {
      newConnL7VsHaproxyHttp: paired('newConnL7VsHaproxyHttp', rps('newconn', 'entente-l7', 'haproxy-http')),
      p99AddedL4VsHaproxyTcpAt1k: paired('p99AddedL4VsHaproxyTcpAt1k', added('entente-l4', 'haproxy-tcp')),
      l4VsDirect: paired('l4VsDirect', rps('throughput', 'entente-l4', 'direct')),
      l7VsDirect: paired('l7VsDirect', rps('throughput', 'entente-l7', 'direct')),
      haproxyTcpVsDirect: paired('haproxyTcpVsDirect', rps('throughput', 'haproxy-tcp', 'direct')),
      haproxyHttpVsDirect: paired('haproxyHttpVsDirect', rps('throughput', 'haproxy-http', 'direct')),
    },
    addedAt1kMsByVariant: Object.fromEntries((['entente-l7', 'entente-l4', 'haproxy-http', 'haproxy-tcp'] as const).map((id) => [id, addedMs(id)])),
    agentDetail: {
      rssIdleMbA: round3(mb(idleRssBytes.a)),
      rssIdleMbB: round3(mb(idleRssBytes.b)),
      vcpuPer1kL4A: agentOf('entente-l4', 'a'),
      vcpuPer1kL4B: agentOf('entente-l4', 'b'),
      vcpuPer1kL7A: agentOf('entente-l7', 'a'),
      vcpuPer1kL7B: agentOf('entente-l7', 'b'),
    },
    perRoundRatios,
    medians: {},
    notes,
  };
  if (summary.agent.rssIdleMb === null) notes.push('rssIdleMb is null: the agents could not be read in /proc');
  for (const id of CLOSED_LOOP_ORDER) {
    summary.medians[id] = {
      throughputRps: round3(median(rounds.map((r) => r.throughput[id]?.rps ?? NaN))),
      throughputP99Ms: medianOver((r) => r.throughput[id]?.p99Ms),
      newConnRps: medianOver((r) => r.newconn[id]?.rps),
      at1kP50Ms: medianOver((r) => r.openLoop[id]?.p50Ms),
      at1kP90Ms: medianOver((r) => r.openLoop[id]?.p90Ms),
      at1kP99Ms: medianOver((r) => r.openLoop[id]?.p99Ms),
      at1kErrors: rounds.reduce((n, r) => n + (r.openLoop[id]?.errors ?? 0), 0),
      at1kLateStarts: rounds.reduce((n, r) => n + (r.openLoop[id]?.lateStarts ?? 0), 0),
      closedLoopErrors: rounds.reduce((n, r) => n + (r.throughput[id]?.errors ?? 0) + (r.newconn[id]?.errors ?? 0), 0),
    };
  }
  return summary;
}

const cell = (x: number | null | undefined, digits: number, width: number): string => (x === null || x === undefined ? '-' : x.toFixed(digits)).padStart(width);

export function renderTable(s: Summary, rounds: number): string {
  const lines = [
    `medians over ${rounds} round(s)      keep-alive          new conn   at 1,000 req/s (open loop)            errors`,
    'variant                        req/s    p99 ms        req/s     p50 ms   p90 ms   p99 ms   (1k / late / wrk)',
  ];
  for (const id of CLOSED_LOOP_ORDER) {
    const m = s.medians[id]!;
    lines.push(
      `${LABELS[id].padEnd(28)} ${cell(m.throughputRps, 0, 8)} ${cell(m.throughputP99Ms, 2, 9)} ${cell(m.newConnRps, 0, 12)} ${cell(m.at1kP50Ms, 2, 10)} ${cell(m.at1kP90Ms, 2, 8)} ${cell(m.at1kP99Ms, 2, 8)}   ${m.at1kErrors} / ${m.at1kLateStarts} / ${m.closedLoopErrors}`,
    );
  }
  const kv = (o: Record<string, number | null>, unit = ''): string[] => Object.entries(o).map(([k, v]) => `  ${k.padEnd(28)} ${v === null ? 'null' : `${v}${unit}`}`);
  lines.push('', 'ratios (median of per-round ratios):', ...kv(s.ratios), ...kv(s.otherRatios));
  lines.push('', 'agent (the busier of the two for CPU, the larger for RSS):', ...kv(s.agent));
  lines.push('', 'added over direct at 1k req/s, entente L7 (ms):', ...kv(s.addedAt1kMs));
  if (s.notes.length) lines.push('', 'notes:', ...s.notes.map((n) => `  ${n}`));
  return lines.join('\n');
}
