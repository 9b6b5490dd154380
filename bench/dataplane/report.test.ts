// report: the goal figures computed from rounds as the brief defines them,
// and null (with a note) where a ratio has no meaning.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable, summarizeRounds } from './report.js';
import type { AgentUse, OpenLoopRun, RoundResult } from './rounds.js';
import type { WrkResult } from './wrk.js';
import type { VariantId } from './variants.js';

const MIB = 1024 * 1024;
const w = (rps: number): WrkResult => ({ rps, requests: rps * 10, p50Ms: 1, p90Ms: 2, p99Ms: 3, errors: 0 });
const use = (vcpuPer1k: number, rssMb: number): AgentUse => ({ vcpuPer1k, cpuSeconds: vcpuPer1k * 10, windowS: 10, rssMaxBytes: rssMb * MIB });
const ol = (p50: number, p90: number, p99: number, agents?: { a: AgentUse; b: AgentUse }): OpenLoopRun => ({
  sent: 1000, ok: 1000, errors: 0, p50Ms: p50, p90Ms: p90, p99Ms: p99, maxMs: p99, lateStarts: 0, queued: 0, extraConnections: 0, achievedRps: 1000, ...(agents ? { agents } : {}),
});

function round(k: number, haproxyHttpP99: number): RoundResult {
  const rps: Record<VariantId, number> = { direct: 100, 'entente-l4': 60 * k, 'haproxy-tcp': 50, 'entente-l7': 20 * k, 'haproxy-http': 40 };
  const tp = Object.fromEntries(Object.entries(rps).map(([id, r]) => [id, w(r)]));
  return {
    throughput: tp,
    newconn: { direct: w(50), 'entente-l4': w(30 * k), 'haproxy-tcp': w(10), 'entente-l7': w(20), 'haproxy-http': w(10) },
    openLoop: {
      direct: ol(1, 2, 4),
      'entente-l7': ol(1.5, 3, 6, { a: use(0.1 * k, 60), b: use(0.15, 55) }),
      'haproxy-http': ol(1.2, 2.5, haproxyHttpP99),
      'entente-l4': ol(1.2, 2.2, 5, { a: use(0.05, 62), b: use(0.04 * k, 58) }),
      'haproxy-tcp': ol(1.1, 2.1, 4.5),
    },
    loadAverage: [1, 1, 1],
  };
}

describe('summarizeRounds', () => {
  // Rounds scale entente by k = 1, 2, 3: medians come from round 2 when it is the middle one.
  const s = summarizeRounds([round(1, 8), round(3, 8), round(2, 8)], { a: 40 * MIB, b: 45 * MIB });

  const cases: [string, number | null, number][] = [
    ['l4VsHaproxy: entente L4 over haproxy tcp req/s', s.ratios.l4VsHaproxy, 2.4],
    ['l7VsHaproxyHttp: entente L7 over haproxy http req/s', s.ratios.l7VsHaproxyHttp, 1],
    ['newConnVsHaproxy: new-connection req/s, L4 over haproxy tcp', s.ratios.newConnVsHaproxy, 6],
    ['p99AddedVsHaproxyAt1k: (6 − 4) / (8 − 4)', s.ratios.p99AddedVsHaproxyAt1k, 0.5],
    ['rssIdleMb: the larger agent', s.agent.rssIdleMb, 45],
    ['rssAt1kMb: the largest sample of a round at 1k, median over rounds', s.agent.rssAt1kMb, 62],
    ['vcpuPer1kL7: the busier agent (B in round 1, A after)', s.agent.vcpuPer1kL7, 0.2],
    ['vcpuPer1kL4: the busier agent', s.agent.vcpuPer1kL4, 0.08],
    ['addedAt1kMs.p50: L7 minus direct', s.addedAt1kMs.p50, 0.5],
    ['addedAt1kMs.p99', s.addedAt1kMs.p99, 2],
  ];
  for (const [what, got, want] of cases) it(what, () => assert.ok(got !== null && Math.abs(got - want) < 1e-9, `${got} ≠ ${want}`));

  it('keeps the per-round ratios behind each median', () => assert.deepEqual(s.perRoundRatios.l4VsHaproxy, [1.2, 3.6, 2.4]));

  it('reports p99AddedVsHaproxyAt1k as null, and why, when HAProxy adds nothing over direct', () => {
    const z = summarizeRounds([round(1, 4), round(2, 3)], {});
    assert.equal(z.ratios.p99AddedVsHaproxyAt1k, null);
    assert.ok(z.notes.some((n) => /p99AddedVsHaproxyAt1k is null: round 1: .*0\.000 \(not positive\); round 2: .*-1\.000/.test(n)), z.notes.join('\n'));
    assert.equal(z.agent.rssIdleMb, null);
  });

  it('renders every variant and every goal figure', () => {
    const t = renderTable(s, 3);
    for (const k of ['direct to nginx', 'haproxy pair, mode http', 'l4VsHaproxy', 'p99AddedVsHaproxyAt1k', 'vcpuPer1kL7', 'rssIdleMb']) assert.match(t, new RegExp(k));
  });
});
