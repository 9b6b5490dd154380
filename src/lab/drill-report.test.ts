// drill-report: phases, unservable counts, recoverMs and healConvergeMs from per-second buckets, as a table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { drillReport, renderDrillReport, type DrillRoute } from './drill-report.js';
import type { RouteBucket } from './route-buckets.js';

// Traffic from second 100: warm-up to 105, fault at 115, heal at 135, end at 150.
const timeline = { warmupEndMs: 105_000, faultMs: 115_000, healMs: 135_000, endMs: 150_000 };
const b = (second: number, ok: number, failed = 0, denied = 0, ms = 10): RouteBucket => ({ second, requests: ok + failed + denied, ok, denied, failed, samples: Array(ok + denied).fill(ms) as number[] });
/** One bucket per second from `from` to `to` (exclusive), by a per-second rule. */
const run = (from: number, to: number, f: (s: number) => RouteBucket): RouteBucket[] => Array.from({ length: to - from }, (_, i) => f(from + i));

const routes: DrillRoute[] = [
  { id: 'a', expect: 'allow', servable: true },
  { id: 'u', expect: 'allow', servable: false },
  { id: 'd', expect: 'deny', servable: true },
];

interface Case {
  name: string;
  a: (s: number) => RouteBucket;
  u?: (s: number) => RouteBucket;
  d?: (s: number) => RouteBucket;
  want: { recoverMs: number | null; healConvergeMs: number | null; met: boolean; failing?: string[] };
}

const steady = (s: number): RouteBucket => b(s, 10);
const cases: Case[] = [
  { name: 'never below: recoverMs 0', a: steady, want: { recoverMs: 0, healConvergeMs: 0, met: true } },
  { name: 'failover takes 3 s', a: (s) => (s >= 115 && s < 118 ? b(s, 5, 5) : b(s, 10)), want: { recoverMs: 3000, healConvergeMs: 0, met: true } },
  { name: 'never recovers before the heal', a: (s) => (s >= 115 && s < 135 ? b(s, 0, 10) : b(s, 10)), want: { recoverMs: null, healConvergeMs: 0, met: false, failing: ['recover'] } },
  { name: 'unservable route converges 4 s after the heal', a: steady, u: (s) => (s >= 115 && s < 139 ? b(s, 0, 10) : b(s, 10)), want: { recoverMs: 0, healConvergeMs: 4000, met: true } },
  { name: 'unservable route never converges', a: steady, u: (s) => (s >= 115 ? b(s, 0, 10) : b(s, 10)), want: { recoverMs: 0, healConvergeMs: null, met: false, failing: ['converges'] } },
  { name: 'a second without completions is not ok', a: (s) => (s === 120 ? b(s, 0) : b(s, 10)), want: { recoverMs: 6000, healConvergeMs: 0, met: true } },
  { name: 'a denied route answered ok fails', a: steady, d: (s) => (s === 140 ? b(s, 1, 0, 9) : b(s, 0, 0, 10)), want: { recoverMs: 0, healConvergeMs: 0, met: false, failing: ['d stays denied'] } },
  { name: 'before phase under 99% fails', a: (s) => (s < 115 ? b(s, 9, 1) : b(s, 10)), want: { recoverMs: 0, healConvergeMs: 0, met: false, failing: ['before the fault'] } },
];

describe('drillReport', () => {
  for (const c of cases) {
    it(c.name, () => {
      const buckets = new Map([
        ['a', run(100, 151, c.a)],
        ['u', run(100, 151, c.u ?? steady)],
        ['d', run(100, 151, c.d ?? ((s) => b(s, 0, 0, 10)))],
      ]);
      const r = drillReport({ drill: 't', routes, buckets, timeline });
      assert.equal(r.recoverMs, c.want.recoverMs, 'recoverMs');
      assert.equal(r.healConvergeMs, c.want.healConvergeMs, 'healConvergeMs');
      assert.equal(r.expectationsMet, c.want.met, JSON.stringify(r.expectations.filter((e) => !e.met)));
      for (const f of c.want.failing ?? []) assert.ok(r.expectations.some((e) => !e.met && e.what.includes(f)), `an unmet expectation mentions "${f}"`);
      assert.ok(renderDrillReport(r).startsWith('drill t:'));
    });
  }

  it('counts whole seconds of each phase, counted routes only; unservable apart; no warm-up', () => {
    const buckets = new Map([
      ['a', run(100, 151, (s) => b(s, 10, 0, 0, s < 115 ? 10 : 50))],
      ['u', run(100, 151, (s) => b(s, 1))],
    ]);
    const r = drillReport({ drill: 'asymmetric', routes: routes.slice(0, 2), buckets, timeline });
    assert.deepEqual(r.phases.map((p) => [p.name, p.requests, p.ok, p.failed, p.p50Ms]), [
      ['before', 100, 100, 0, 10],
      ['during', 200, 200, 0, 50],
      ['after', 150, 150, 0, 50],
    ]);
    assert.deepEqual({ ...r.unservable }, { name: 'during', requests: 20, ok: 20, failed: 0, p50Ms: 10, p99Ms: 10 });
    assert.deepEqual(Object.keys(r), ['drill', 'phases', 'unservable', 'recoverMs', 'healConvergeMs', 'expectationsMet', 'expectations']);
  });
});
