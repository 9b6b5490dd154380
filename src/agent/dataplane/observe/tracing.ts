// The data plane's side of tracing: for each proxied HTTP request, a span ID
// that continues the trace the request came with (or starts one), put on the
// request's traceparent before it travels on. The agent supplies it
// (src/telemetry/agent-telemetry.ts); without it, traceparent passes through
// untouched and no span is recorded.
import type { TraceIds } from '../../../telemetry/trace-context.js';
import { formatTraceparent } from '../../../telemetry/trace-context.js';

export type { TraceIds };

export interface Tracing {
  /** The span of a request that arrived with this traceparent value (any header value, checked). */
  begin(traceparent: unknown): TraceIds;
}

/** Sets the request's traceparent to our span, as the parent of the next hop; tracestate passes on as it came. */
export function continueTrace(tracing: Tracing | undefined, headers: Record<string, unknown>): TraceIds | undefined {
  if (!tracing) return undefined;
  const t = tracing.begin(headers.traceparent);
  headers.traceparent = formatTraceparent(t);
  return t;
}

/** The flow record's trace fields. */
export function traceFields(t: TraceIds | undefined): { traceId?: string; spanId?: string; parentSpanId?: string; sampled?: boolean } {
  if (!t) return {};
  return { traceId: t.traceId, spanId: t.spanId, ...(t.parentSpanId !== undefined ? { parentSpanId: t.parentSpanId } : {}), sampled: t.sampled };
}
