import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failbackResult, failoverResult, percentile, type RequestRecord } from './recovery.js';

/** One request every 20 ms from 0 to `until`, shaped by `at(t)`. */
function run(until: number, at: (t: number) => { ok: boolean; latencyMs: number }): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let t = 0; t < until; t += 20) out.push({ start: t, ...at(t) });
  return out;
}

test('percentile: nearest rank', () => {
  assert.equal(percentile([], 99), 0);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
});

test('no dip after the fault: recoverMs 0, nothing failed', () => {
  const r = failoverResult(run(20_000, () => ({ ok: true, latencyMs: 10 })), 10_000, 20_000);
  assert.equal(r.recoverMs, 0);
  assert.equal(r.failed, 0);
  assert.equal(r.slowBoundMs, 500);
});

test('failures for 5 s after the fault: recovery at about 5 s, every failure counted', () => {
  const r = failoverResult(run(30_000, (t) => (t >= 10_000 && t < 15_000 ? { ok: false, latencyMs: 5000 } : { ok: true, latencyMs: 10 })), 10_000, 30_000);
  assert.equal(r.failed, 250);
  assert.ok(r.recoverMs >= 5000 && r.recoverMs <= 5100, String(r.recoverMs));
});

test('requests that succeed only after a long wait are not recovered yet', () => {
  const r = failoverResult(run(30_000, (t) => (t >= 10_000 && t < 12_000 ? { ok: true, latencyMs: 1500 } : { ok: true, latencyMs: 10 })), 10_000, 30_000);
  assert.equal(r.failed, 0);
  assert.equal(r.slow, 100);
  assert.ok(r.recoverMs >= 2000 && r.recoverMs <= 2100, String(r.recoverMs));
});

test('a lone late failure counts: recovery is only when every window from then on is good', () => {
  const r = failoverResult(run(30_000, (t) => ({ ok: t !== 15_000, latencyMs: 10 })), 10_000, 30_000);
  assert.equal(r.failed, 1);
  assert.equal(r.recoverMs, 5100);
});

test('the baseline is the last 3 s before the fault: a slow start of the run does not loosen the slow bound', () => {
  const r = failoverResult(run(30_000, (t) => ({ ok: true, latencyMs: t < 2000 ? 4000 : 10 })), 10_000, 30_000);
  assert.equal(r.p99BeforeMs, 10);
  assert.equal(r.slowBoundMs, 500);
});

test('requests in flight when the fault hits are affected: out of the baseline, counted after it', () => {
  // Steady 10 ms, but the five requests started in the last 100 ms before the fault wait 1.5 s on the dead path.
  const r = failoverResult(run(30_000, (t) => (t >= 9_900 && t < 10_000 ? { ok: true, latencyMs: 1500 } : { ok: true, latencyMs: 10 })), 10_000, 30_000);
  assert.equal(r.p99BeforeMs, 10);
  assert.equal(r.slowBoundMs, 500);
  assert.equal(r.slow, 5);
  assert.equal(r.requests, 1005);
  assert.ok(r.recoverMs > 0 && r.recoverMs <= 100, String(r.recoverMs));
});

test('failback: from the heal until >= 90% of ok requests are served by the nearest region, and stay so', () => {
  // Healed at 10 s; the nearest region takes over linearly from 10 s to 15 s (slow start), then everything.
  const recs = run(30_000, () => ({ ok: true, latencyMs: 10 })).map((r, i) => ({ ...r, servedBy: r.start < 10_000 ? 'ap' : r.start >= 15_000 || (i % 10) < ((r.start - 10_000) / 500) ? 'us' : 'ap' }));
  const r = failbackResult(recs, 10_000, 30_000, 'us');
  assert.ok(r.failbackMs !== undefined && r.failbackMs >= 3500 && r.failbackMs <= 5100, String(r.failbackMs));
  assert.equal(r.failedAfterHeal, 0);
});

test('failback that never happens within the run is undefined, not the run length', () => {
  const recs = run(30_000, () => ({ ok: true, latencyMs: 10, servedBy: 'ap' }));
  assert.equal(failbackResult(recs, 10_000, 30_000, 'us').failbackMs, undefined);
  const none = failbackResult(run(30_000, () => ({ ok: false, latencyMs: 10 })), 10_000, 30_000, 'us');
  assert.equal(none.failbackMs, undefined);
  assert.equal(none.failedAfterHeal, 1000);
});
