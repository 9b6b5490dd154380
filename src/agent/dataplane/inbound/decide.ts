// The inbound decision for one CONNECT stream, as a pure function of the
// snapshot and the verified peer (ztunnel's named phases): build context
// (method, :authority -> local workload and a DECLARED port of its Service)
// then authorize. Each failure maps to one status and one counted code; the
// server only carries the decision out.
import type { DataplaneSnapshot, LocalWorkload } from '../dataplane-snapshot.js';
import type { SpiffeId } from '../../../identity/spiffe-id.js';
import { parseSocketAddress } from '../../../core/address.js';
import { describeError } from '../../../core/errors.js';
import { MESH_METHOD } from '../../../mesh/wire-headers.js';

/** Who is on the other end of an accepted mTLS session, established once per session. */
export interface InboundPeer {
  readonly caller: SpiffeId;
  /** The local workload the client's SNI named (whose SVID we presented). */
  readonly sniWorkload: LocalWorkload;
  readonly remoteAddress: string;
}

/** What a stream asked for, once its workload is known (the port may still be undeclared). */
export interface InboundContext {
  readonly workload: LocalWorkload;
  /** The target port from :authority: where the app listens. */
  readonly port: number;
  readonly service: { namespace: string; name: string };
  readonly callerRegion: string | undefined;
}

/** A stream to a declared port: what policies see is the Service port. */
export interface InboundTarget extends InboundContext {
  readonly servicePort: number;
}

/** Stable label of every refusal, for entente_agent_inbound_refusals_total{reason}. */
export type InboundRefusalCode = 'not_connect' | 'no_authority' | 'bad_authority' | 'no_workload' | 'misdirected' | 'undeclared_port' | 'policy_denied' | 'authorizer_failed';

export type InboundDecision =
  | ({ kind: 'l4'; policy: string; rule: number } & InboundTarget)
  | ({ kind: 'l7'; protocol: 'http' | 'http2' } & InboundTarget)
  /** One HTTP/2 request (not a CONNECT) to an http or http2 port: authorized and forwarded on its own. */
  | ({ kind: 'l7-request'; protocol: 'http' | 'http2' } & InboundTarget)
  | {
      kind: 'refuse';
      code: InboundRefusalCode;
      status: number;
      verdict: 'deny' | 'error';
      reason: string;
      policy?: string;
      rule?: number;
      target?: InboundContext;
    };

const refuse = (code: InboundRefusalCode, status: number, reason: string, target?: InboundContext): InboundDecision => ({ kind: 'refuse', code, status, verdict: status === 403 ? 'deny' : 'error', reason, target });

export function decideInbound(snapshot: DataplaneSnapshot, peer: InboundPeer, method: unknown, authority: unknown): InboundDecision {
  // Phase 1: build context. A method other than CONNECT is one HTTP request, served on http ports only (below).
  if (typeof method !== 'string' || method === '') return refuse('not_connect', 405, `only CONNECT and HTTP requests to http ports are served on the mesh port, got ${String(method)}`);
  if (typeof authority !== 'string' || authority === '') return refuse('no_authority', 400, 'CONNECT without :authority');
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseSocketAddress(authority, ':authority', false));
  } catch (err) {
    return refuse('bad_authority', 400, describeError(err));
  }
  const workload = snapshot.localWorkloadsByAddress.get(host);
  if (!workload) return refuse('no_workload', 404, `no workload at ${host} on this node (:authority ${authority})`);
  if (workload.namespace !== peer.sniWorkload.namespace || workload.name !== peer.sniWorkload.name) {
    // The caller verified the SNI workload's identity; sending it elsewhere would betray that check.
    return refuse('misdirected', 421, `:authority ${authority} is workload ${workload.namespace}/${workload.name}, but the TLS server name named ${peer.sniWorkload.namespace}/${peer.sniWorkload.name}`);
  }
  const context: InboundContext = {
    workload,
    port,
    service: { namespace: workload.namespace, name: workload.service },
    callerRegion: snapshot.regionOf(peer.caller.trustDomain),
  };
  // Only what the Service declares is reachable: a stats or debug port on the same address is not the mesh's to open.
  const declared = workload.ports.get(port);
  if (!declared) {
    const list = [...workload.ports.keys()].sort((a, b) => a - b).join(', ') || 'none';
    return refuse('undeclared_port', 403, `port ${port} of ${host} is not a target port of Service ${workload.namespace}/${workload.service} (declared: ${list})`, context);
  }
  const target: InboundTarget = { ...context, servicePort: declared.servicePort };
  if (method !== MESH_METHOD) {
    if (declared.protocol !== 'tcp') return { kind: 'l7-request', protocol: declared.protocol, ...target };
    return refuse('not_connect', 405, `port ${port} of ${host} is a tcp port: only CONNECT is served for it, got ${method}`, context);
  }
  // Phase 2: the declared protocol picks the mode; HTTP ports are authorized per request instead.
  if (declared.protocol !== 'tcp') return { kind: 'l7', protocol: declared.protocol, ...target };
  try {
    const d = snapshot.authorizer.authorize({ caller: peer.caller, callerRegion: target.callerRegion, service: target.service, port: target.servicePort });
    if (d.kind === 'allow') return { kind: 'l4', policy: d.policy, rule: d.rule, ...target };
    return { kind: 'refuse', code: 'policy_denied', status: 403, verdict: 'deny', reason: d.reason, policy: d.policy, rule: d.rule, target };
  } catch (err) {
    return refuse('authorizer_failed', 500, `authorizer failed: ${describeError(err)}`, target);
  }
}
