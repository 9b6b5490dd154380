// RetryBudget: ratio of recent requests plus a per-second floor, over a sliding bucketed window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from './retry-budget.js';

/** Withdraws until refused (bounded), returns how many were allowed. */
function drain(b: RetryBudget, now: number, bound = 10_000): number {
  let n = 0;
  while (n < bound && b.tryWithdraw(now)) n++;
  return n;
}

test('retries allowed = ratio * requests in the window + minPerSecond * window seconds', () => {
  const cases: { name: string; ratio: number; minPerSecond: number; deposits: number; want: number }[] = [
    { name: 'floor only, no traffic', ratio: 0.2, minPerSecond: 10, deposits: 0, want: 100 },
    { name: 'ratio only', ratio: 0.2, minPerSecond: 0, deposits: 10, want: 2 },
    { name: 'ratio rounds down', ratio: 0.2, minPerSecond: 0, deposits: 14, want: 2 },
    { name: 'both', ratio: 0.5, minPerSecond: 1, deposits: 100, want: 60 },
    { name: 'nothing', ratio: 0, minPerSecond: 0, deposits: 1000, want: 0 },
  ];
  for (const c of cases) {
    const b = new RetryBudget({ ratio: c.ratio, minPerSecond: c.minPerSecond, windowMs: 10_000 });
    for (let i = 0; i < c.deposits; i++) b.deposit(5_000);
    assert.equal(b.available(5_000), c.want, `${c.name}: available`);
    assert.equal(drain(b, 5_000), c.want, c.name);
    assert.equal(b.available(5_000), 0, `${c.name}: none left`);
  }
});

test('the window slides: requests and retries older than windowMs stop counting', () => {
  const b = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 10_000 }); // buckets of 1 s
  for (let i = 0; i < 10; i++) b.deposit(0);
  assert.equal(drain(b, 500), 10);
  for (let i = 0; i < 4; i++) b.deposit(9_999);
  assert.equal(b.available(9_999), 4, '14 requests earned 14, 10 are spent');
  // At 10 s the bucket [0, 1 s) falls out: its 10 requests and 10 retries no longer count.
  assert.equal(b.available(10_000), 4);
  assert.equal(drain(b, 10_000), 4);
  // At 19.999 s the 4 requests of 9.999 s fall out, the 4 retries of 10 s do not: none left.
  assert.equal(b.available(19_999), 0);
  assert.equal(b.tryWithdraw(19_999), false);
  b.deposit(20_000);
  assert.equal(b.available(20_000), 1, 'the retries of 10 s fell out too');
  assert.equal(b.available(40_000), 0, 'a jump past the window clears everything');
});

test('a clock that steps back counts into the newest bucket; memory stays fixed', () => {
  const b = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000 });
  b.deposit(5_000);
  b.deposit(4_000);
  assert.equal(b.available(5_000), 2);
  for (let t = 0; t < 100_000; t += 7) b.deposit(t);
  const inner = b as unknown as { deposits: number[]; withdrawals: number[] };
  assert.deepEqual([inner.deposits.length, inner.withdrawals.length], [10, 10]);
  assert.ok(b.available(99_999) <= 1_000 / 7 + 1);
});
