// Enrollment of an agent by its projected Kubernetes service-account token
// (region.yaml kubernetes.agentAttestation), what lets a DaemonSet enroll:
// decide from the TokenReview attestor's answer and the node registry whether
// the caller may enroll as the node it names, and which addresses its record
// is bound to. The agent API does the I/O (the CSR, the registry write).
//
// Invariants: only agents; a node name held by a gateway is never taken over;
// an agent already enrolled under that name may enroll again (a pod that lost
// its dataDir, or a new pod of the DaemonSet): the registry keeps one record.
// TokenReviews in flight are capped: every attempt costs the API server a
// request, and the callers are not authenticated yet.
import { canonicalIp } from '../core/address.js';
import type { AttestationRefusal, NodeAttestation } from '../kubernetes/node-attestor.js';
import type { NodeKind } from './join-tokens.js';
import type { NodeRecord } from './node-registry.js';

/** What the decision needs of the TokenReview attestor (src/kubernetes/node-attestor.ts); tests pass a fake. */
export interface AgentAttestor {
  attest(token: string, node: string): Promise<NodeAttestation>;
}

export type KubernetesEnrollRefusal = AttestationRefusal | 'KUBERNETES_ATTESTATION_OFF' | 'KUBERNETES_AGENTS_ONLY' | 'NODE_IS_GATEWAY' | 'ATTESTATION_BUSY';

export type KubernetesEnrollDecision =
  | { readonly kind: 'ok'; readonly node: string; readonly addresses: readonly string[]; readonly account: string; readonly pod?: string; readonly reenrolled: boolean }
  | { readonly kind: 'refused'; readonly status: 403 | 503; readonly code: KubernetesEnrollRefusal; readonly reason: string };

/** A pod as the pod reflector holds it: what the decision reads of it. */
export interface PodView {
  readonly metadata: { readonly uid?: string };
  readonly spec?: unknown;
  readonly status?: unknown;
}

export interface KubernetesEnrollmentOptions {
  readonly attestor: AgentAttestor;
  readonly nodes: { get(node: string): NodeRecord | undefined };
  /** The pod the pod reflector last saw under this name, if any. */
  readonly pod: (namespace: string, name: string) => PodView | undefined;
  /** TokenReviews at once; more attempts are told to come back (503 ATTESTATION_BUSY). */
  readonly maxInFlight?: number;
}

/** Refusals that pass on their own: the agent is told to try again (HTTP 503), the others are its configuration (403). */
const UNAVAILABLE: ReadonlySet<KubernetesEnrollRefusal> = new Set(['API_UNAVAILABLE', 'ATTESTATION_BUSY']);

const refused = (code: KubernetesEnrollRefusal, reason: string): KubernetesEnrollDecision => ({ kind: 'refused', status: UNAVAILABLE.has(code) ? 503 : 403, code, reason });

/** The answer when region.yaml has no kubernetes.agentAttestation. */
export const KUBERNETES_ATTESTATION_OFF: KubernetesEnrollDecision = refused(
  'KUBERNETES_ATTESTATION_OFF',
  'this controller does not enroll agents by Kubernetes service-account token: region.yaml has no kubernetes.agentAttestation (use a join token, or configure it)',
);

/**
 * The IPs of the attested pod, to bind the node's advertise to (as the
 * addresses an operator registers with a join token): status.podIPs (a
 * hostNetwork pod's are its node's), only when the pod is the token's (same
 * uid, when the token names one) and on the attested node. Empty when not
 * known yet: the advertise is then bound to the config stream's source.
 */
export function attestedPodAddresses(pod: PodView | undefined, node: string, uid: string | undefined): string[] {
  if (!pod) return [];
  if (uid !== undefined && pod.metadata.uid !== uid) return [];
  const spec = (pod.spec ?? {}) as { nodeName?: unknown };
  if (spec.nodeName !== node) return [];
  const status = (pod.status ?? {}) as { podIP?: unknown; podIPs?: unknown };
  const listed = Array.isArray(status.podIPs) ? status.podIPs.map((p) => (p as { ip?: unknown } | null)?.ip) : [status.podIP];
  const ips = listed.flatMap((ip) => (typeof ip === 'string' ? [canonicalIp(ip)] : [])).filter((ip): ip is string => ip !== undefined);
  return [...new Set(ips)];
}

export class KubernetesEnrollment {
  private inFlight = 0;
  private readonly max: number;

  constructor(private readonly o: KubernetesEnrollmentOptions) {
    this.max = o.maxInFlight ?? 16;
  }

  async decide(req: { readonly token: string; readonly node: string; readonly kind: NodeKind }): Promise<KubernetesEnrollDecision> {
    if (req.kind !== 'agent') return refused('KUBERNETES_AGENTS_ONLY', `only agents enroll with a Kubernetes service-account token; gateway ${req.node} needs a join token (entente token create --gateway)`);
    if (this.inFlight >= this.max) return refused('ATTESTATION_BUSY', `${this.max} enrollments are being reviewed by the API server already; try again shortly`);
    this.inFlight++;
    let a: NodeAttestation;
    try {
      a = await this.o.attestor.attest(req.token, req.node);
    } finally {
      this.inFlight--;
    }
    if (!a.ok) return refused(a.code, a.reason);
    // After the review: who holds the name is read as it is now, and only a proven agent of that node learns it.
    const existing = this.o.nodes.get(a.node);
    if (existing?.kind === 'gateway') return refused('NODE_IS_GATEWAY', `node name ${a.node} is enrolled as a gateway; an agent's token does not take it over (name the gateway otherwise)`);
    const namespace = a.account.split('/')[0]!;
    const addresses = a.pod ? attestedPodAddresses(this.o.pod(namespace, a.pod), a.node, a.podUid) : [];
    return { kind: 'ok', node: a.node, addresses, account: a.account, ...(a.pod ? { pod: a.pod } : {}), reenrolled: existing !== undefined };
  }
}
