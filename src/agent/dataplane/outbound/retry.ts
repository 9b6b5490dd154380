// Outbound layer: another attempt when one failed and another may succeed.
// Two kinds, on purpose:
//  - failover: the session or stream could not be set up, so nothing of the
//    call was sent; any call goes to the next untried endpoint (up to
//    MAX_FAILOVER), without spending the budget, as a connection pool would;
//  - retry: the request reached a destination and failed (reset, 5xx, per-try
//    timeout); only HTTP requests without a body to replay, whose method is
//    idempotent or whose route is marked retryable, never after response bytes
//    reached the caller, with backoff and jitter, inside a retry budget.
import type { Layer } from '../stack.js';
import type { Attempt, OutboundCall } from './call.js';
import type { Failure, Outcome } from '../outcome.js';
import type { RetryOn, TrafficSettings } from '../../../policy/traffic-policy.js';
import type { RetryBudgets } from './retry-budgets.js';
import { backoffMs } from './balance/backoff.js';

/** Endpoints a call may fail over across when none can be reached (each costs up to a connect timeout). */
export const MAX_FAILOVER = 8;

const FAILOVER_CODES = new Set<Failure['code']>(['connect_failed']);

/** Whether a failed request attempt is one the settings say to retry. */
export function retryableFailure(f: Failure, on: ReadonlySet<RetryOn>): boolean {
  switch (f.code) {
    case 'stream_refused':
      return on.has('refused-stream');
    case 'reset':
      return on.has('reset');
    case 'path_cut':
      // No answer came and none will: the agent closed the session because the path is cut.
      // Whether the request reached the app is unknown, so only requests that may be repeated
      // (idempotent, or on a route marked retryable: mayRetryRequest) get here; by default.
      return on.has('connect-failure') || on.has('reset');
    case 'timeout':
      return on.has('gateway-error') || on.has('5xx');
    case 'upstream_5xx': {
      const s = f.status ?? 0;
      if (on.has('5xx')) return true;
      if (on.has('gateway-error') && (s === 502 || s === 503 || s === 504)) return true;
      return on.has('unavailable') && s === 503;
    }
    default:
      return false;
  }
}

export function mayRetryRequest(call: OutboundCall, t: TrafficSettings): boolean {
  const h = call.http;
  if (!h || !h.replayable || t.retry.attempts === 0) return false;
  return t.retry.isRetryable(h.method, h.path);
}

export function retryLayer(budgets: RetryBudgets, counted: (service: string, kind: 'failover' | 'retry') => void = () => undefined, random: () => number = Math.random): Layer<OutboundCall> {
  return (next) => async (call) => {
    const t = call.traffic;
    const budget = budgets.for(call.service ?? '', t.retry.budget);
    budget.deposit();
    const requestRetries = mayRetryRequest(call, t);
    const endpoints = call.endpoints?.length ?? 0;
    let retries = 0;
    let failovers = 0;
    for (let n = 1; ; n++) {
      // An attempt that may still be retried leaves a retryable 5xx unwritten; the last one writes whatever it gets.
      const final = !(requestRetries && retries < t.retry.attempts && budget.canWithdraw());
      const attempt: Attempt = { number: n, final, signal: call.attempt.signal };
      call.attempt = attempt;
      const o: Outcome = await next(call);
      if (o.kind === 'done' || o.responseStarted || call.attempt.signal?.aborted) return o;
      const untried = endpoints - (call.tried?.size ?? 0);
      if (FAILOVER_CODES.has(o.code)) {
        if (untried > 0 && failovers < MAX_FAILOVER) {
          failovers++;
          counted(call.service ?? '', 'failover');
          continue;
        }
        return o;
      }
      if (!requestRetries || retries >= t.retry.attempts || !retryableFailure(o, t.retry.retryOn) || !budget.tryWithdraw()) return o;
      retries++;
      counted(call.service ?? '', 'retry');
      await sleep(backoffMs(retries, t.retry.backoff, random), call.attempt.signal);
    }
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
