// Outbound layer: bounds an HTTP call in time. Used twice in the stack:
// above retries for the whole call (the TrafficPolicy's request timeout, or
// the caller's shorter deadline from x-entente-timeout), and below them per
// attempt (perTryTimeout). On expiry the attempt's signal aborts, the exchange
// ends its stream, and the call fails with code "timeout" (504 when nothing
// was written yet). Byte streams have no request timeout: their idle timeout
// lives in the exchange.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import { fail } from '../outcome.js';

export type TimeoutScope = 'request' | 'try';

function budgetMs(call: OutboundCall, scope: TimeoutScope): number {
  if (!call.http) return 0;
  const t = call.traffic;
  if (scope === 'try') return t.retry.perTryTimeoutMs;
  const configured = t.requestTimeoutMs;
  const asked = call.http.deadlineMs;
  if (configured > 0 && asked > 0) return Math.min(configured, asked);
  return configured > 0 ? configured : asked;
}

export function timeoutLayer(scope: TimeoutScope): Layer<OutboundCall> {
  return (next) => async (call) => {
    const ms = budgetMs(call, scope);
    if (!(ms > 0)) return next(call);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    const outer = call.attempt;
    // An outer deadline (the request's, seen by a per-try layer) aborts this one too. By hand rather than
    // AbortSignal.any, which costs more per call and holds its sources longer on Node 20.
    const abortInner = (): void => controller.abort();
    outer.signal?.addEventListener('abort', abortInner, { once: true });
    if (outer.signal?.aborted) controller.abort();
    call.attempt = { ...outer, signal: controller.signal };
    try {
      const o = await next(call);
      if (!controller.signal.aborted || o.kind === 'done') return o;
      const what = scope === 'try' ? 'per-try timeout' : call.http?.deadlineMs === ms ? "the caller's deadline" : 'request timeout';
      return fail('timeout', `${call.service ?? call.host}: no complete response within ${ms} ms (${what})`, { endpoint: o.endpoint, responseStarted: o.responseStarted, status: o.status, bytesIn: o.bytesIn, bytesOut: o.bytesOut });
    } finally {
      clearTimeout(timer);
      outer.signal?.removeEventListener('abort', abortInner);
      call.attempt = outer;
    }
  };
}
