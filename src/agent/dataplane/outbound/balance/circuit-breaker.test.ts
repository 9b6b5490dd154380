// CircuitBreaker: two independent caps, refusals with stable codes, releases that count once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type Admission } from './circuit-breaker.js';

const ok = (a: Admission): (() => void) => {
  assert.equal(a.kind, 'ok');
  return a.kind === 'ok' ? a.release : () => {};
};

test('requests: admitted up to maxRequests, then breaker_open; a release frees one slot, once', () => {
  const b = new CircuitBreaker('shop/cart:80', { maxRequests: 2, maxPending: 1 });
  const r1 = ok(b.tryAcquire());
  ok(b.tryAcquire());
  const refused = b.tryAcquire();
  assert.equal(refused.kind, 'refuse');
  assert.equal(refused.kind === 'refuse' && refused.code, 'breaker_open');
  assert.match(refused.kind === 'refuse' ? refused.reason : '', /shop\/cart:80: 2 calls in flight, the limit \(maxRequests\) is 2/);
  r1();
  r1();
  assert.deepEqual(b.inUse(), { requests: 1, pending: 0 }, 'a second release does nothing');
  ok(b.tryAcquire());
  assert.equal(b.tryAcquire().kind, 'refuse');
});

test('pending: its own cap and code, independent of requests', () => {
  const b = new CircuitBreaker('shop/cart:80', { maxRequests: 1, maxPending: 1 });
  ok(b.tryAcquire());
  const p = ok(b.pending());
  const refused = b.pending();
  assert.equal(refused.kind === 'refuse' && refused.code, 'pending_limit');
  assert.deepEqual(b.inUse(), { requests: 1, pending: 1 });
  p();
  p();
  assert.deepEqual(b.inUse(), { requests: 1, pending: 0 });
  ok(b.pending());
});

test('a zero limit refuses everything', () => {
  const b = new CircuitBreaker('d', { maxRequests: 0, maxPending: 0 });
  assert.deepEqual([b.tryAcquire().kind, b.pending().kind], ['refuse', 'refuse']);
});
