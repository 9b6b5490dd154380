// Table tests for the announcement decision.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type DecisionInput, decide } from './announcer-decision.js';
import { initialFlapGuard } from './health/flap-guard.js';

const guardCfg = { enabled: true, halfLife: 900_000, withdrawPenalty: 1000, attributeChangePenalty: 500, limit: 1900 };
const base: DecisionInput = { healthy: true, maintenance: false, current: 'withdrawn', drainingSince: undefined, now: 10_000, drainMs: 5000, guard: initialFlapGuard, guardCfg };

describe('announcement decision', () => {
  const cases: { name: string; input: Partial<DecisionInput>; kind: string }[] = [
    { name: 'healthy and withdrawn: announce', input: {}, kind: 'announce' },
    { name: 'healthy and announced: stay', input: { current: 'announced' }, kind: 'stay' },
    { name: 'unhealthy and announced: withdraw at once', input: { healthy: false, current: 'announced' }, kind: 'withdraw' },
    { name: 'unhealthy while draining: withdraw at once', input: { healthy: false, current: 'draining', drainingSince: 9000 }, kind: 'withdraw' },
    { name: 'unhealthy and withdrawn: stay', input: { healthy: false }, kind: 'stay' },
    { name: 'maintenance while announced: drain', input: { maintenance: true, current: 'announced' }, kind: 'drain' },
    { name: 'maintenance with no drain time: withdraw', input: { maintenance: true, current: 'announced', drainMs: 0 }, kind: 'withdraw' },
    { name: 'maintenance, drain not over: stay', input: { maintenance: true, current: 'draining', drainingSince: 8000 }, kind: 'stay' },
    { name: 'maintenance, drain over: withdraw', input: { maintenance: true, current: 'draining', drainingSince: 5000 }, kind: 'withdraw' },
    { name: 'maintenance and withdrawn: stay withdrawn even if healthy', input: { maintenance: true }, kind: 'stay' },
    { name: 'maintenance ends while draining: announce again', input: { current: 'draining', drainingSince: 9000 }, kind: 'announce' },
    { name: 'recent withdrawal: hold the re-announce', input: { guard: { penalty: 1000, at: 9000 } }, kind: 'hold' },
    { name: 'old withdrawal has decayed: announce', input: { guard: { penalty: 1000, at: 9000 - 200_000 } }, kind: 'announce' },
    { name: 'guard disabled: announce', input: { guard: { penalty: 5000, at: 9000 }, guardCfg: { ...guardCfg, enabled: false } }, kind: 'announce' },
    { name: 'maintenance ends while draining but the guard is tight: stay drained', input: { current: 'draining', drainingSince: 9000, guard: { penalty: 600, at: 10_000 } }, kind: 'hold' },
    { name: 'penalty high: skip the graceful step and withdraw', input: { maintenance: true, current: 'announced', guard: { penalty: 500, at: 10_000 } }, kind: 'withdraw' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(decide({ ...base, ...c.input }).kind, c.kind));

  it('holds until the penalty has decayed enough, and no longer', () => {
    const d = decide({ ...base, guard: { penalty: 1000, at: 10_000 } });
    assert.equal(d.kind, 'hold');
    const until = (d as { until: number }).until;
    // 1000 * 2^(-t/15min) = 900  =>  t = 15min * log2(10/9) ~ 136.8 s
    assert.ok(Math.abs(until - 10_000 - 136_808) < 1000, `until ${until}`);
    assert.equal(decide({ ...base, now: until, guard: { penalty: 1000, at: 10_000 } }).kind, 'announce');
    assert.equal(decide({ ...base, now: until - 2000, guard: { penalty: 1000, at: 10_000 } }).kind, 'hold');
  });
});
