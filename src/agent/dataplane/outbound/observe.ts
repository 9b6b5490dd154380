// Outbound layer: publishes the call's start and, once its outcome is known,
// its end as one flow record (observe/flow-events.ts); metrics, logs and
// /flows subscribe. Outermost, so every refusal below is seen.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { Outcome } from '../outcome.js';
import { verdictOf } from '../outcome.js';
import type { FlowRecord } from '../observe/flow-record.js';
import { publishEnd, publishStart, type DataplaneTag } from '../observe/flow-events.js';
import { normalizeAddress } from './decide.js';
import { traceFields } from '../observe/tracing.js';

export function outboundRecord(call: OutboundCall, o: Outcome, now: number): FlowRecord {
  const endpoint = o.endpoint ?? call.endpoint;
  const refusedCaller = call.workload === undefined || call.callerRefused;
  return {
    time: call.start,
    direction: 'outbound',
    source: refusedCaller ? undefined : call.workload?.spiffeId,
    sourceAddress: refusedCaller ? normalizeAddress(call.socket.remoteAddress) : undefined,
    attested: call.attested,
    destination: endpoint?.spiffeId,
    service: call.service ?? (refusedCaller ? undefined : call.host),
    port: refusedCaller ? undefined : call.port,
    sourceRegion: call.snapshot.region,
    destinationRegion: endpoint?.region,
    ...(call.workload?.zone !== undefined && !refusedCaller ? { sourceZone: call.workload.zone } : {}),
    ...(endpoint?.zone !== undefined ? { destinationZone: endpoint.zone } : {}),
    regionPath: endpoint === undefined ? undefined : endpoint.via !== undefined ? `${call.snapshot.region}>${endpoint.via}>${endpoint.region}` : endpoint.region === call.snapshot.region ? endpoint.region : `${call.snapshot.region}>${endpoint.region}`,
    verdict: verdictOf(o),
    reason: o.kind === 'fail' ? o.reason : undefined,
    method: call.http?.method,
    path: call.http?.path,
    status: o.status,
    bytesOut: o.bytesOut ?? 0,
    bytesIn: o.bytesIn ?? 0,
    durationMs: now - call.start,
    ...traceFields(call.http?.trace),
  };
}

export function observeOutbound(tag: DataplaneTag, now: () => number): Layer<OutboundCall> {
  return (next) => async (call) => {
    publishStart({ dataplane: tag, direction: 'outbound', time: call.start, target: `${call.host}:${call.port}` });
    const o = await next(call);
    publishEnd({ dataplane: tag, record: outboundRecord(call, o, now()), code: o.kind === 'fail' ? o.code : undefined, perRequest: false });
    return o;
  };
}
