// backoffMs: exponential ceiling, full jitter, capped; attempt 1 is the first retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BACKOFF, backoffMs } from './backoff.js';

test('backoff: random * min(max, base * 2^(attempt - 1))', () => {
  const opts = { baseMs: 25, maxMs: 250 };
  const cases: [attempt: number, random: number, want: number][] = [
    [1, 0, 0],
    [1, 0.5, 12.5],
    [2, 0.5, 25],
    [3, 0.5, 50],
    [4, 0.5, 100],
    [5, 0.5, 125], // 400 capped at 250
    [40, 0.5, 125],
    [1e9, 0.5, 125],
    [0, 0.5, 12.5], // below 1 counts as the first retry
    [-3, 0.5, 12.5],
    [2.7, 0.5, 25], // whole attempts only
  ];
  for (const [attempt, r, want] of cases) assert.equal(backoffMs(attempt, opts, () => r), want, `attempt ${attempt}, random ${r}`);
});

test('backoff never exceeds its ceiling nor returns NaN', () => {
  assert.equal(backoffMs(5000, { baseMs: 0, maxMs: 100 }, () => 0.9), 0);
  for (let attempt = 1; attempt < 70; attempt++) {
    const d = backoffMs(attempt, DEFAULT_BACKOFF, () => 0.999999);
    assert.ok(d >= 0 && d < DEFAULT_BACKOFF.maxMs && d < DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1), `attempt ${attempt}: ${d}`);
  }
});
