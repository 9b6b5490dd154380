import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayRetryRequest, retryableFailure } from './retry.js';
import { fail, type Failure } from '../outcome.js';
import type { OutboundCall } from './call.js';
import { DEFAULT_TRAFFIC, type RetryOn, type TrafficSettings } from '../../../policy/traffic-policy.js';

test('which failed attempts the retryOn conditions cover (table)', () => {
  const on = (...c: RetryOn[]): ReadonlySet<RetryOn> => new Set(c);
  const cases: { name: string; f: Failure; on: ReadonlySet<RetryOn>; want: boolean }[] = [
    { name: 'refused stream, refused-stream on', f: fail('stream_refused', 'x'), on: on('refused-stream'), want: true },
    { name: 'refused stream, only reset on', f: fail('stream_refused', 'x'), on: on('reset'), want: false },
    { name: 'reset, reset on', f: fail('reset', 'x'), on: on('reset'), want: true },
    { name: 'reset, default conditions', f: fail('reset', 'x'), on: DEFAULT_TRAFFIC.retry.retryOn, want: false },
    { name: '503 with unavailable', f: fail('upstream_5xx', 'x', { status: 503 }), on: on('unavailable'), want: true },
    { name: '502 with unavailable only', f: fail('upstream_5xx', 'x', { status: 502 }), on: on('unavailable'), want: false },
    { name: '504 with gateway-error', f: fail('upstream_5xx', 'x', { status: 504 }), on: on('gateway-error'), want: true },
    { name: '500 with gateway-error', f: fail('upstream_5xx', 'x', { status: 500 }), on: on('gateway-error'), want: false },
    { name: '500 with 5xx', f: fail('upstream_5xx', 'x', { status: 500 }), on: on('5xx'), want: true },
    { name: 'per-try timeout with gateway-error', f: fail('timeout', 'x'), on: on('gateway-error'), want: true },
    { name: 'per-try timeout with connect-failure only', f: fail('timeout', 'x'), on: on('connect-failure'), want: false },
    { name: 'a policy denial is never retried', f: fail('denied', 'x', { status: 403 }), on: on('5xx', 'reset', 'gateway-error'), want: false },
    { name: 'a caller refusal is never retried', f: fail('unknown_source', 'x'), on: on('5xx', 'reset'), want: false },
  ];
  for (const c of cases) assert.equal(retryableFailure(c.f, c.on), c.want, c.name);
});

test('which requests may be sent again (table)', () => {
  const call = (method: string, replayable: boolean, http = true): OutboundCall => ({ http: http ? { method, path: '/orders/7', replayable, deadlineMs: 0 } : undefined }) as unknown as OutboundCall;
  const retryPost: TrafficSettings = { ...DEFAULT_TRAFFIC, retry: { ...DEFAULT_TRAFFIC.retry, isRetryable: (m, p) => m !== 'POST' || p.startsWith('/orders/') } };
  const none: TrafficSettings = { ...DEFAULT_TRAFFIC, retry: { ...DEFAULT_TRAFFIC.retry, attempts: 0 } };
  const cases: { name: string; c: OutboundCall; t: TrafficSettings; want: boolean }[] = [
    { name: 'GET without a body', c: call('GET', true), t: DEFAULT_TRAFFIC, want: true },
    { name: 'GET with a streamed body', c: call('GET', false), t: DEFAULT_TRAFFIC, want: false },
    { name: 'POST, not a retryable route', c: call('POST', true), t: DEFAULT_TRAFFIC, want: false },
    { name: 'POST on a retryable route', c: call('POST', true), t: retryPost, want: true },
    { name: 'PUT (idempotent)', c: call('PUT', true), t: DEFAULT_TRAFFIC, want: true },
    { name: 'attempts 0 disables retries', c: call('GET', true), t: none, want: false },
    { name: 'a byte stream has no request to repeat', c: call('GET', true, false), t: DEFAULT_TRAFFIC, want: false },
  ];
  for (const c of cases) assert.equal(mayRetryRequest(c.c, c.t), c.want, c.name);
});
