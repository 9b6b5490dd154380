// Inbound observation: one flow event per CONNECT stream (L4) or per HTTP
// request (L7), published on the flow channels (observe/flow-events.ts) that
// metrics, logs and /flows subscribe to.
import type { InboundContext, InboundPeer } from './decide.js';
import type { Layer } from '../stack.js';
import type { InboundCall } from './call.js';
import { fail, verdictOf, type FailureCode, type Outcome } from '../outcome.js';
import type { DataplaneSnapshot } from '../dataplane-snapshot.js';
import type { FlowRecord } from '../observe/flow-record.js';
import { publishEnd, publishStart, type DataplaneTag } from '../observe/flow-events.js';
import { traceFields, type TraceIds } from '../observe/tracing.js';

export interface InboundFacts {
  readonly peer: InboundPeer;
  readonly start: number;
  readonly snapshot: DataplaneSnapshot;
  readonly target: InboundContext | undefined;
  readonly policy: string | undefined;
  readonly rule: number | undefined;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
  readonly grpcStatus?: number | undefined;
  readonly trace?: TraceIds | undefined;
}

export function inboundRecord(f: InboundFacts, o: Outcome, now: number): FlowRecord {
  const t = f.target;
  return {
    time: f.start,
    direction: 'inbound',
    source: f.peer.caller,
    peerAddress: f.peer.remoteAddress,
    destination: t?.workload.spiffeId ?? f.peer.sniWorkload.spiffeId,
    service: t ? `${t.service.namespace}/${t.service.name}` : undefined,
    port: t?.port,
    sourceRegion: t?.callerRegion ?? f.snapshot.regionOf(f.peer.caller.trustDomain),
    destinationRegion: f.snapshot.region,
    ...(t?.workload.zone !== undefined ? { destinationZone: t.workload.zone } : {}),
    verdict: verdictOf(o),
    policy: f.policy,
    rule: f.rule,
    reason: o.kind === 'fail' ? o.reason : undefined,
    method: f.method,
    path: f.path,
    status: o.status,
    ...(f.grpcStatus !== undefined ? { grpcStatus: f.grpcStatus } : {}),
    bytesOut: o.bytesOut ?? 0,
    bytesIn: o.bytesIn ?? 0,
    durationMs: now - f.start,
    ...traceFields(f.trace),
  };
}

/** One HTTP request (or WebSocket) recorded by the L7 carriers that answer it themselves (h2c, upgrades). */
export interface RequestRecord {
  readonly verdict: 'allow' | 'deny' | 'error';
  /** The failure's stable code (metrics, logs); required unless the request went through. */
  readonly code?: FailureCode;
  readonly target?: InboundContext;
  readonly policy?: string;
  readonly rule?: number;
  readonly reason?: string;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly grpcStatus?: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
  readonly trace?: TraceIds;
}

export function recordInbound(ctx: { readonly tag: DataplaneTag; now(): number; readonly state: { readonly current: DataplaneSnapshot } }, peer: InboundPeer, start: number, r: RequestRecord): void {
  const extra = { ...(r.status !== undefined ? { status: r.status } : {}), bytesOut: r.bytesOut, bytesIn: r.bytesIn };
  const o: Outcome = r.verdict === 'allow' || !r.code ? { kind: 'done', status: r.status ?? 0, bytesOut: r.bytesOut, bytesIn: r.bytesIn } : fail(r.code, r.reason ?? r.code, extra);
  const facts: InboundFacts = { peer, start, snapshot: ctx.state.current, target: r.target, policy: r.policy, rule: r.rule, method: r.method, path: r.path, grpcStatus: r.grpcStatus, trace: r.trace };
  publishInbound(ctx.tag, facts, o, ctx.now(), true);
}

export function publishInbound(tag: DataplaneTag, f: InboundFacts, o: Outcome, now: number, perRequest: boolean): void {
  publishEnd({ dataplane: tag, record: inboundRecord(f, o, now), code: o.kind === 'fail' ? o.code : undefined, perRequest });
}

export function observeInbound(tag: DataplaneTag, now: () => number): Layer<InboundCall> {
  return (next) => async (call) => {
    publishStart({ dataplane: tag, direction: 'inbound', time: call.start, target: String(call.headers[':authority'] ?? '') });
    const o = await next(call);
    // A stream handed to the HTTP layer is recorded request by request there.
    if (o.kind === 'done' && o.perRequestFlows) return o;
    publishInbound(tag, call, o, now(), call.method !== undefined);
    return o;
  };
}
