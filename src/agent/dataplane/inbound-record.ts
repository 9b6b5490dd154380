// Counts and records inbound decisions: one record per CONNECT stream (L4) or
// per HTTP request (L7), built only when someone listens.
import type { DataplaneContext } from './dataplane-context.js';
import type { InboundContext, InboundPeer } from './inbound-decide.js';
import { emitFlow, type FlowVerdict } from './flow-record.js';

export interface InboundOutcome {
  readonly verdict: FlowVerdict;
  readonly target?: InboundContext;
  readonly policy?: string;
  readonly rule?: number;
  readonly reason?: string;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly grpcStatus?: number;
  /** The refusal's log budget and metric reason (default: policy_denied for denials, call_failed for errors). */
  readonly refusal?: string;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

export function recordInbound(ctx: DataplaneContext, peer: InboundPeer, start: number, o: InboundOutcome, perRequest = false): void {
  if (perRequest) ctx.metrics.requests.inc({ verdict: o.verdict });
  else ctx.metrics.streams.inc({ direction: 'inbound', verdict: o.verdict });
  const bytes = o.bytesIn + o.bytesOut;
  if (bytes > 0) ctx.metrics.bytes.inc({ direction: 'inbound' }, bytes);
  if (o.verdict !== 'allow') {
    // Denials are policy doing its job (info); failures need an operator's eye (warn).
    const deny = o.verdict === 'deny';
    ctx.refusals.write(
      deny ? 'info' : 'warn',
      o.refusal ?? (deny ? 'policy_denied' : 'call_failed'),
      { caller: peer.caller.toString(), from: peer.remoteAddress, service: o.target ? `${o.target.service.namespace}/${o.target.service.name}` : undefined, method: o.method, path: o.path, status: o.status, reason: o.reason },
      deny ? 'inbound call denied' : 'inbound call failed',
    );
  }
  if (!ctx.onFlow) return;
  const snapshot = ctx.state.current;
  emitFlow(
    ctx.onFlow,
    {
      time: start,
      direction: 'inbound',
      source: peer.caller,
      destination: o.target?.workload.spiffeId ?? peer.sniWorkload.spiffeId,
      service: o.target ? `${o.target.service.namespace}/${o.target.service.name}` : undefined,
      port: o.target?.port,
      sourceRegion: o.target?.callerRegion ?? snapshot.regionOf(peer.caller.trustDomain),
      destinationRegion: snapshot.region,
      verdict: o.verdict,
      policy: o.policy,
      rule: o.rule,
      reason: o.reason,
      method: o.method,
      path: o.path,
      status: o.status,
      ...(o.grpcStatus !== undefined ? { grpcStatus: o.grpcStatus } : {}),
      bytesOut: o.bytesOut,
      bytesIn: o.bytesIn,
      durationMs: ctx.now() - start,
    },
    ctx.log,
  );
}
