// Outbound layer: the one place that turns a failure into what the app is
// told: a status and a reason (entries write it in their own framing: a raw
// HTTP/1.1 answer to CONNECT, a proxy response, or a closed socket on a
// per-service port). Nothing is written once the response has started.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { Failure, FailureCode } from '../outcome.js';

/** Status per failure code, for what reaches an app through the agent (docs/dataplane.md "Failure statuses"). */
const STATUS: Partial<Record<FailureCode, number>> = {
  bad_request: 400,
  bad_consistency_token: 400,
  unknown_source: 403,
  attestation_failed: 403,
  no_selectors: 403,
  denied: 403,
  no_route: 502,
  no_svid: 502,
  connect_failed: 502,
  stream_refused: 502,
  reset: 502,
  path_cut: 502,
  refused: 502,
  upstream_5xx: 502,
  breaker_open: 503,
  pending_limit: 503,
  no_endpoint: 503,
  shutting_down: 503,
  timeout: 504,
  client_closed: 499,
};

export function outboundStatus(f: Failure): number {
  return STATUS[f.code] ?? 502;
}

export function refusalBody(status: number, reason: string): string {
  return status === 403 ? `denied by policy: ${reason}\n` : `entente: ${reason}\n`;
}

export function respondOutbound(): Layer<OutboundCall> {
  return (next) => async (call) => {
    const o = await next(call);
    if (o.kind === 'done' || o.responseStarted || o.code === 'client_closed') return o;
    const status = outboundStatus(o);
    call.refuse(status, o.reason, call.callerRefused);
    // The record shows what the app got; a destination's own answer (e.g. its 403) is kept when there was one.
    return o.status === undefined ? { ...o, status } : o;
  };
}
