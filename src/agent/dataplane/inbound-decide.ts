// The inbound decision for one CONNECT stream, as a pure function of the
// snapshot and the verified peer (ztunnel's named phases): build context
// (method, :authority -> local workload) then authorize (service, port). Each
// failure maps to one status; the server only carries the decision out.
import type { DataplaneSnapshot, LocalWorkload } from './dataplane-snapshot.js';
import type { SpiffeId } from '../../identity/spiffe-id.js';
import { parseSocketAddress } from '../../core/address.js';
import { describeError } from '../../core/errors.js';

/** Who is on the other end of an accepted mTLS session, established once per session. */
export interface InboundPeer {
  readonly caller: SpiffeId;
  /** The local workload the client's SNI named (whose SVID we presented). */
  readonly sniWorkload: LocalWorkload;
  readonly remoteAddress: string;
}

export interface InboundTarget {
  readonly workload: LocalWorkload;
  readonly port: number;
  readonly service: { namespace: string; name: string };
  readonly callerRegion: string | undefined;
}

export type InboundDecision =
  | ({ kind: 'l4'; policy: string; rule: number } & InboundTarget)
  | ({ kind: 'l7' } & InboundTarget)
  | {
      kind: 'refuse';
      status: number;
      verdict: 'deny' | 'error';
      reason: string;
      policy?: string;
      rule?: number;
      target?: InboundTarget;
    };

const refuse = (status: number, reason: string, target?: InboundTarget): InboundDecision => ({ kind: 'refuse', status, verdict: status === 403 ? 'deny' : 'error', reason, target });

export function decideInbound(snapshot: DataplaneSnapshot, peer: InboundPeer, method: unknown, authority: unknown): InboundDecision {
  // Phase 1: build context.
  if (method !== 'CONNECT') return refuse(405, `only CONNECT is served on the mesh port, got ${String(method)}`);
  if (typeof authority !== 'string' || authority === '') return refuse(400, 'CONNECT without :authority');
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseSocketAddress(authority, ':authority', false));
  } catch (err) {
    return refuse(400, describeError(err));
  }
  const workload = snapshot.localWorkloadsByAddress.get(host);
  if (!workload) return refuse(404, `no workload at ${host} on this node (:authority ${authority})`);
  if (workload.namespace !== peer.sniWorkload.namespace || workload.name !== peer.sniWorkload.name) {
    // The caller verified the SNI workload's identity; sending it elsewhere would betray that check.
    return refuse(421, `:authority ${authority} is workload ${workload.namespace}/${workload.name}, but the TLS server name named ${peer.sniWorkload.namespace}/${peer.sniWorkload.name}`);
  }
  const target: InboundTarget = {
    workload,
    port,
    service: { namespace: workload.namespace, name: workload.service },
    callerRegion: snapshot.regionOf(peer.caller.trustDomain),
  };
  // Phase 2: authorize at stream open; L7 services are authorized per request instead.
  const authorizer = snapshot.authorizer;
  try {
    if (authorizer.requiresL7(target.service)) return { kind: 'l7', ...target };
    const d = authorizer.authorize({ caller: peer.caller, callerRegion: target.callerRegion, service: target.service, port });
    if (d.kind === 'allow') return { kind: 'l4', policy: d.policy, rule: d.rule, ...target };
    return { kind: 'refuse', status: 403, verdict: 'deny', reason: d.reason, policy: d.policy, rule: d.rule, target };
  } catch (err) {
    return refuse(500, `authorizer failed: ${describeError(err)}`, target);
  }
}
