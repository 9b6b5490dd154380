// Node attestation on Kubernetes, the way SPIRE's k8s_psat does it: an agent
// of a DaemonSet presents its projected service-account token (bound to an
// audience, a pod and a node, short-lived), and the controller asks the API
// server whether it is valid (TokenReview, authentication.k8s.io/v1). Valid,
// for the expected audience, of one of the agents' service accounts, and for
// the node the agent says it runs on: then, and only then, may it enroll as
// that node. This replaces a join token per node, which a DaemonSet cannot
// be given. The node comes from the token itself (Kubernetes 1.30+ binds the
// node name into it), else from the pod the token is bound to, as the pod
// reflector last saw it (spec.nodeName).
//
// The token is a bearer credential: whoever steals one before it expires can
// enroll as its node, as with SPIRE. Keep its lifetime short (the kubelet
// rotates it) and the audience Entente's own.
import type { KubeTransport } from './kube-transport.js';
import { describeError } from '../core/errors.js';

export type AttestationRefusal = 'BAD_TOKEN' | 'TOKEN_REJECTED' | 'WRONG_AUDIENCE' | 'WRONG_ACCOUNT' | 'NO_NODE' | 'NODE_MISMATCH' | 'API_UNAVAILABLE';

export type NodeAttestation =
  | { readonly ok: true; readonly node: string; readonly account: string; readonly pod?: string; readonly podUid?: string }
  | { readonly ok: false; readonly code: AttestationRefusal; readonly reason: string };

export interface NodeAttestorOptions {
  readonly transport: KubeTransport;
  /** The audience the agents' projected tokens are bound to, e.g. "entente". */
  readonly audience: string;
  /** The agents' service accounts, "namespace/name": a token of any other account is refused. */
  readonly serviceAccounts: readonly string[];
  /**
   * The node a pod is scheduled on (the pod reflector's spec.nodeName);
   * undefined when unknown, or when `uid` (the token's pod) is given and the
   * pod known by that name is another one (deleted and created again).
   */
  readonly podNode?: (namespace: string, pod: string, uid: string | undefined) => string | undefined;
  readonly timeoutMs?: number;
}

/** A projected token is a JWT of a few hundred bytes to a few KiB. */
const MAX_TOKEN_BYTES = 16 * 1024;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SA_USER = /^system:serviceaccount:([a-z0-9-]+):([a-z0-9.-]+)$/;

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[] | undefined> };
}

const first = (v: string[] | undefined): string | undefined => (Array.isArray(v) && typeof v[0] === 'string' && v[0] !== '' ? v[0] : undefined);

export class TokenReviewAttestor {
  constructor(private readonly o: NodeAttestorOptions) {}

  async attest(token: string, node: string): Promise<NodeAttestation> {
    // Checked before it goes anywhere: the token comes from an unauthenticated enrollment request.
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES || !JWT.test(token)) return { ok: false, code: 'BAD_TOKEN', reason: 'not a service-account token (a JWT of at most 16 KiB)' };
    const aborter = new AbortController();
    const timer = setTimeout(() => aborter.abort(), this.o.timeoutMs ?? 5000);
    let status: TokenReviewStatus | undefined;
    try {
      const r = await this.o.transport.send('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.o.audience] } }, aborter.signal);
      if (r.status !== 201 && r.status !== 200) return { ok: false, code: 'API_UNAVAILABLE', reason: `the API server answered the TokenReview with ${r.status}` };
      status = (r.body as { status?: TokenReviewStatus } | undefined)?.status;
    } catch (err) {
      return { ok: false, code: 'API_UNAVAILABLE', reason: `TokenReview failed: ${describeError(err)}` };
    } finally {
      clearTimeout(timer);
    }
    if (status?.authenticated !== true) return { ok: false, code: 'TOKEN_REJECTED', reason: `the API server does not accept the token${status?.error ? `: ${status.error.slice(0, 200)}` : ''}` };
    // The API server returns the audiences it checked the token against: ours must be one.
    if (!Array.isArray(status.audiences) || !status.audiences.includes(this.o.audience)) return { ok: false, code: 'WRONG_AUDIENCE', reason: `the token is not bound to the audience "${this.o.audience}"` };
    const m = SA_USER.exec(status.user?.username ?? '');
    const account = m ? `${m[1]}/${m[2]}` : undefined;
    if (!account || !this.o.serviceAccounts.includes(account)) return { ok: false, code: 'WRONG_ACCOUNT', reason: `${status.user?.username ?? 'the token'} is not one of the agents' service accounts (${this.o.serviceAccounts.join(', ')})` };
    const extra = status.user?.extra ?? {};
    const pod = first(extra['authentication.kubernetes.io/pod-name']);
    const podUid = first(extra['authentication.kubernetes.io/pod-uid']);
    const tokenNode = first(extra['authentication.kubernetes.io/node-name']);
    const actual = tokenNode ?? (pod ? this.o.podNode?.(m![1]!, pod, podUid) : undefined);
    if (actual === undefined) return { ok: false, code: 'NO_NODE', reason: pod ? `the token names pod ${pod}, whose node is not known (yet)` : 'the token is bound to no pod or node (use a projected service-account token)' };
    if (actual !== node) return { ok: false, code: 'NODE_MISMATCH', reason: `the token is of node ${actual}, not ${node}` };
    return { ok: true, node, account, ...(pod ? { pod } : {}), ...(podUid ? { podUid } : {}) };
  }
}
