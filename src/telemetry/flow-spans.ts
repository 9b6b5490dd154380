// A proxied request's span, built from its flow record once it ended: the
// source agent's CLIENT span and the destination agent's SERVER span, with
// the W3C IDs the agent put on the wire, HTTP semantic-convention attributes
// and Entente's own (regions, identities, the policy decision).
import { SpanKind, SpanStatusCode, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_PORT, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { FlowRecord } from '../agent/dataplane/observe/flow-record.js';
import { ENTENTE_VERSION } from '../core/build-info.js';
import type { TraceIds } from './trace-context.js';

export const SCOPE = { name: 'entente.dataplane', version: ENTENTE_VERSION };

function hrTime(ms: number): HrTime {
  const whole = Math.floor(ms);
  return [Math.floor(whole / 1000), (whole % 1000) * 1_000_000 + Math.round((ms - whole) * 1_000_000)];
}

/** Entente's span attributes (docs/observability.md "Traces"). */
export function spanAttributes(f: FlowRecord): Attributes {
  const a: Attributes = {
    'entente.direction': f.direction,
    'entente.verdict': f.verdict,
  };
  const set = (k: string, v: string | number | boolean | undefined): void => {
    if (v !== undefined) a[k] = v;
  };
  set(ATTR_HTTP_REQUEST_METHOD, f.method);
  set(ATTR_URL_PATH, f.path);
  set(ATTR_HTTP_RESPONSE_STATUS_CODE, f.method !== undefined ? f.status : undefined);
  set(ATTR_SERVER_PORT, f.port);
  set('rpc.grpc.status_code', f.grpcStatus);
  set('entente.service', f.service);
  set('entente.source', f.source?.toString());
  set('entente.destination', f.destination?.toString());
  set('entente.source_region', f.sourceRegion);
  set('entente.destination_region', f.destinationRegion);
  set('entente.source_zone', f.sourceZone);
  set('entente.destination_zone', f.destinationZone);
  set('entente.region_path', f.regionPath);
  set('entente.policy', f.policy);
  set('entente.rule', f.rule);
  set('entente.reason', f.reason);
  set('entente.mesh_status', f.method === undefined ? f.status : undefined);
  set('entente.bytes_out', f.bytesOut);
  set('entente.bytes_in', f.bytesIn);
  return a;
}

/** The span of a flow record that carries trace IDs; undefined for one that does not. */
export function flowSpan(f: FlowRecord, trace: TraceIds, resource: Resource): ReadableSpan {
  const context: SpanContext = { traceId: trace.traceId, spanId: trace.spanId, traceFlags: 1 };
  const client = f.direction === 'outbound';
  // OpenTelemetry's HTTP conventions: a 4xx is an error for the client, not for the server.
  const failed = f.verdict === 'error' || (f.status !== undefined && f.status >= (client ? 400 : 500)) || (client && f.verdict === 'deny');
  return {
    name: f.method !== undefined ? `${f.method} ${f.service ?? ''}`.trim() : `tcp ${f.service ?? ''}`.trim(),
    kind: client ? SpanKind.CLIENT : SpanKind.SERVER,
    spanContext: () => context,
    ...(trace.parentSpanId !== undefined ? { parentSpanContext: { traceId: trace.traceId, spanId: trace.parentSpanId, traceFlags: 1, isRemote: true } } : {}),
    startTime: hrTime(f.time),
    endTime: hrTime(f.time + f.durationMs),
    duration: hrTime(f.durationMs),
    status: failed ? { code: SpanStatusCode.ERROR, ...(f.reason !== undefined ? { message: f.reason } : {}) } : { code: SpanStatusCode.UNSET },
    attributes: spanAttributes(f),
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
