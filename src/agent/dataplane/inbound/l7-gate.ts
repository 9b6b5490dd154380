// The per-request gate of HTTP mode, shared by HTTP/2 requests and WebSocket
// upgrades: normalize the target, authorize method + normalized path, take a
// bulkhead slot. Each refusal comes back as a value with its status, counted
// reason and body; the caller answers it in its own framing (HTTP/1, HTTP/2
// or a gRPC status) and records the flow. Same rules as inbound-l7.ts's
// HTTP/1.1 requests (docs/dataplane.md "Modes").
import { describeError } from '../../../core/errors.js';
import { headerSafe, type DataplaneContext } from '../dataplane-context.js';
import type { InboundDecision, InboundPeer } from './decide.js';
import type { Release } from './workload-bulkhead.js';
import { normalizeRequestTarget } from '../../../policy/request-path.js';

/** An http or http2 port of a local workload, reached by a stream (l7) or an HTTP/2 request (l7-request). */
export type L7Target = Omit<Extract<InboundDecision, { kind: 'l7' | 'l7-request' }>, 'kind'>;

export type L7Gate =
  | {
      readonly kind: 'refuse';
      readonly status: 400 | 403 | 503;
      readonly verdict: 'deny' | 'error';
      /** The refusal's metric reason and log budget. */
      readonly code: 'bad_request_path' | 'policy_denied' | 'workload_connection_limit';
      readonly reason: string;
      /** For the flow record: the normalized path, or the raw one when it was refused. */
      readonly path: string;
      readonly body: string;
      readonly policy?: string;
      readonly rule?: number;
    }
  | {
      readonly kind: 'admit';
      /** The normalized path (authorized) and the target to forward (it plus the original query). */
      readonly path: string;
      readonly target: string;
      readonly policy: string;
      readonly rule: number;
      /** The bulkhead slot: release once the app connection or request is over. */
      readonly release: Release;
    };

/** The gate's decision; the caller answers a refusal and records it (the flow subscribers count it by its code). */
export function gateL7Request(ctx: DataplaneContext, peer: InboundPeer, target: L7Target, method: string, rawTarget: string): L7Gate {
  const normalized = normalizeRequestTarget(rawTarget);
  if (!normalized.ok) {
    const reason = `request target ${JSON.stringify(headerSafe(rawTarget, 200))} refused: ${normalized.reason} (expected an origin-form path such as /orders/7?x=1)`;
    return { kind: 'refuse', status: 400, verdict: 'deny', code: 'bad_request_path', reason, path: rawTarget.split(/[?#]/, 1)[0] ?? '', body: `entente: ${reason}\n` };
  }
  const path = normalized.path;
  let decision: ReturnType<DataplaneContext['state']['current']['authorizer']['authorize']>;
  try {
    decision = ctx.state.current.authorizer.authorize({ caller: peer.caller, callerRegion: target.callerRegion, service: target.service, port: target.servicePort, method, path });
  } catch (err) {
    decision = { kind: 'deny', reason: `authorizer failed: ${describeError(err)}` };
  }
  if (decision.kind === 'deny') {
    return { kind: 'refuse', status: 403, verdict: 'deny', code: 'policy_denied', reason: decision.reason, path, body: `denied by policy: ${decision.reason}\n`, policy: decision.policy, rule: decision.rule };
  }
  const slot = ctx.bulkhead.acquire(`${target.workload.namespace}/${target.workload.name}`);
  if (slot.kind === 'refuse') {
    return { kind: 'refuse', status: 503, verdict: 'error', code: 'workload_connection_limit', reason: slot.reason, path, body: `entente: ${slot.reason}\n`, policy: decision.policy, rule: decision.rule };
  }
  return { kind: 'admit', path, target: normalized.target, policy: decision.policy, rule: decision.rule, release: slot.release };
}
