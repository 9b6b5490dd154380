// The data plane's own subscribers to its flow events: Prometheus counters,
// refusal logs (rate limited, with a budget per code) and the caller's flow
// sink (the agent's /flows ring). Attached in index.ts, detached on close.
import type { Logger } from '../../../core/log.js';
import type { RateLimitedLog } from '../../../core/rate-limited-log.js';
import type { DataplaneMetrics } from './dataplane-metrics.js';
import { emitFlow, type FlowSink } from './flow-record.js';
import { subscribeFlows, type DataplaneTag, type FlowEndEvent } from './flow-events.js';
import type { FailureCode } from '../outcome.js';

/** Outbound failures counted as refused app connections (the agent refused before the mesh). */
const OUTBOUND_REFUSALS: ReadonlySet<FailureCode> = new Set<FailureCode>(['unknown_source', 'attestation_failed', 'no_selectors', 'no_route', 'no_svid', 'bad_request', 'breaker_open', 'pending_limit', 'no_endpoint']);

/** Inbound refusals by a limit rather than by a decision. */
const INBOUND_LIMITS: ReadonlySet<FailureCode> = new Set<FailureCode>(['workload_connection_limit']);

/** Inbound failures that are the stream's (or request's) decision: counted in inbound_refusals_total. */
const INBOUND_DECISIONS: ReadonlySet<FailureCode> = new Set<FailureCode>(['not_connect', 'no_authority', 'bad_authority', 'no_workload', 'misdirected', 'undeclared_port', 'policy_denied', 'authorizer_failed', 'bad_request_path', 'http1_on_http2_port']);

/** Refusals by policy, expected in normal operation: logged at info, each with its own budget. */
const ROUTINE_DENIALS: ReadonlySet<FailureCode> = new Set<FailureCode>(['denied', 'policy_denied', 'undeclared_port', 'bad_request_path', 'http1_on_http2_port']);

export interface SubscriberDeps {
  readonly metrics: DataplaneMetrics;
  readonly refusals: RateLimitedLog;
  readonly log: Logger;
  readonly sink: FlowSink | undefined;
}

function count(d: SubscriberDeps, e: FlowEndEvent): void {
  const r = e.record;
  const m = d.metrics;
  m.golden.record(r);
  if (e.perRequest) m.requests.inc({ verdict: r.verdict });
  else m.streams.inc({ direction: r.direction, verdict: r.verdict });
  const bytes = r.bytesIn + r.bytesOut;
  if (bytes > 0) m.bytes.inc({ direction: r.direction }, bytes);
  const code = e.code;
  if (!code) return;
  if (r.direction === 'outbound') {
    if (OUTBOUND_REFUSALS.has(code)) m.refusedConnections.inc({ reason: code });
  } else if (INBOUND_LIMITS.has(code)) m.refusedStreams.inc({ reason: code });
  else if (INBOUND_DECISIONS.has(code)) m.inboundRefusals.inc({ reason: code });
}

function logRefusal(d: SubscriberDeps, e: FlowEndEvent): void {
  const r = e.record;
  if (r.verdict === 'allow' || !e.code) return;
  // Denials are policy doing its job (info); failures and refused callers need an operator's eye (warn).
  const denial = ROUTINE_DENIALS.has(e.code);
  const fields = {
    caller: r.source?.toString(),
    from: r.direction === 'outbound' ? r.sourceAddress : r.peerAddress,
    service: r.service,
    port: r.port,
    method: r.method,
    path: r.path,
    status: r.status,
    reason: r.reason,
  };
  const what = denial ? 'denied' : r.verdict === 'deny' ? 'refused' : 'failed';
  // A caller that leaves early is the caller's business: worth a debug line, not an operator's attention.
  const level = denial ? 'info' : e.code === 'client_closed' ? 'debug' : 'warn';
  d.refusals.write(level, e.code === 'denied' ? 'policy_denied' : e.code, fields, `${r.direction} call ${what}`);
}

export function attachSubscribers(tag: DataplaneTag, d: SubscriberDeps): () => void {
  return subscribeFlows(tag, {
    end(e) {
      count(d, e);
      logRefusal(d, e);
      if (d.sink) emitFlow(d.sink, e.record, d.log);
    },
  });
}
