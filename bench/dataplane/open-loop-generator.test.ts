// open-loop-generator: the fixed schedule and the summary of a run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dueCount, summarize } from './open-loop-generator.js';

describe('dueCount', () => {
  // start 100 ms, 1000 req/s, 50 requests in all.
  const cases: [string, number, number][] = [
    ['before the start: none', 99.9, 0],
    ['at the start: the first', 100, 1],
    ['just before the second is due', 100.99, 1],
    ['when the second is due', 101, 2],
    ['after a 20 ms stall: all that fell due at once', 121.5, 22],
    ['long after the end: never more than the total', 10_000, 50],
  ];
  for (const [what, now, want] of cases) it(what, () => assert.equal(dueCount(100, 1000, 50, now), want));
  it('follows the rate', () => assert.equal(dueCount(0, 250, 1000, 1000), 251));
});

describe('summarize', () => {
  it('takes percentiles of the latencies and the rate of successful requests', () => {
    const lat = Array.from({ length: 100 }, (_, i) => 100 - i);
    const r = summarize(lat, { sent: 110, ok: 100, errors: 10, lateStarts: 1, queued: 0, extraConnections: 2 }, 2);
    assert.equal(r.p50Ms, 50);
    assert.equal(r.p90Ms, 90);
    assert.equal(r.p99Ms, 99);
    assert.equal(r.maxMs, 100);
    assert.equal(r.achievedRps, 50);
    assert.equal(r.errors, 10);
  });
  it('has no percentiles without a successful request', () => {
    const r = summarize([], { sent: 5, ok: 0, errors: 5, lateStarts: 0, queued: 0, extraConnections: 0 }, 1);
    assert.equal(r.p99Ms, null);
  });
});
