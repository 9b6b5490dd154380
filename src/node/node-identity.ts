// Brings a node (agent or gateway) to an enrolled state: from its cache on
// disk if it has one (so it starts while the controller is down), otherwise by
// redeeming its join token, or (agents on Kubernetes) by presenting its
// projected service-account token. Keeps the node SVID renewed at half life.
import { readFileSync } from 'node:fs';
import { EntenteError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { generateKeyPair, privateKeyToPem } from '../identity/keys.js';
import { createCsrPem } from '../identity/csr.js';
import { X509Certificate } from 'node:crypto';
import { ControllerClient, enrollWithAny, enrollWithKubernetesToken, parseControllerCas, type EnrollResult } from './controller-client.js';
import type { NodeState, StoredCredential } from './node-state.js';
import { renewAtMs } from './svid-manager.js';

export interface NodeIdentityOptions {
  readonly node: string;
  readonly kind: 'agent' | 'gateway';
  /** The region controller, or each of its replicas. */
  readonly controllerUrls: readonly string[];
  readonly joinToken?: string;
  readonly joinTokenFile?: string;
  /** Agents only: a projected service-account token, read again at each attempt (the kubelet rotates it). */
  readonly kubernetesTokenFile?: string;
  /** With kubernetesTokenFile: the region CA's PEM, which authenticates the controller. */
  readonly controllerCaFile?: string;
  readonly state: NodeState;
  readonly log: Logger;
  /** Waits between Kubernetes enrollment attempts (tests pass a short one). */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface NodeIdentity {
  readonly client: ControllerClient;
  stop(): void;
}

export async function establishNodeIdentity(o: NodeIdentityOptions): Promise<NodeIdentity> {
  let enrollment = o.state.enrollment();
  if (enrollment && enrollment.node !== o.node) {
    throw new EntenteError('NODE_MISMATCH', `data directory ${o.state.dir} belongs to node ${enrollment.node}, not ${o.node}`, { hint: 'use a separate dataDir per node' });
  }
  if (!enrollment || !o.state.nodeCredential()) {
    let r: EnrollResult;
    if (o.kubernetesTokenFile !== undefined) r = await enrollByKubernetesToken(o, o.kubernetesTokenFile);
    else {
      const token = o.joinToken ?? (o.joinTokenFile ? readFileFor('joinTokenFile', o.joinTokenFile, 'JOIN_TOKEN_UNREADABLE').trim() : undefined);
      if (!token) {
        throw new EntenteError('NOT_ENROLLED', `node ${o.node} is not enrolled (nothing in ${o.state.dir}) and has no way to enroll`, {
          hint: o.kind === 'agent'
            ? 'set joinToken or joinTokenFile (a token from `entente token create --node NAME`), or on Kubernetes kubernetesTokenFile with controllerCaFile'
            : 'set joinToken or joinTokenFile (a token from `entente token create --gateway --node NAME`)',
        });
      }
      r = await enrollWithAny(o.controllerUrls, token, o.node, o.kind);
    }
    o.state.saveEnrollment(r.enrollment);
    o.state.saveNodeCredential(r.credential);
    o.state.saveOwnBundle(r.bundle);
    enrollment = r.enrollment;
    o.log.info({ region: enrollment.region, trustDomain: enrollment.trustDomain }, 'enrolled');
  } else {
    o.log.info({ region: enrollment.region }, 'using the enrollment cached on disk');
  }
  let credential: StoredCredential = o.state.nodeCredential()!;
  const client = new ControllerClient({ urls: o.controllerUrls, enrollment, credential: () => credential, log: o.log });

  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => void renew(), Math.max(1000, delayMs));
    timer.unref();
  };
  const renew = async (): Promise<void> => {
    try {
      const keys = await generateKeyPair();
      const res = await client.post('/v1/node/svid', { csr: await createCsrPem(keys, credential.spiffeId) });
      if (res.status !== 200) throw new Error(`controller answered ${res.status}`);
      const chainPem = String(res.body.chainPem);
      credential = {
        spiffeId: credential.spiffeId,
        keyPem: await privateKeyToPem(keys.privateKey),
        chainPem,
        notBefore: new Date(new X509Certificate(chainPem).validFrom).toISOString(),
        notAfter: String(res.body.notAfter),
      };
      o.state.saveNodeCredential(credential);
      schedule(renewAtMs(Date.parse(credential.notBefore), Date.parse(credential.notAfter)) - Date.now());
    } catch (err) {
      const left = (Date.parse(credential.notAfter) - Date.now()) / 1000;
      o.log.warn({ err: describeError(err), secondsLeft: Math.round(left) }, 'node SVID renewal failed; retrying');
      schedule(Math.min(10_000, Math.max(1000, left * 100)));
    }
  };
  schedule(renewAtMs(Date.parse(credential.notBefore), Date.parse(credential.notAfter)) - Date.now());
  return { client, stop: () => timer && clearTimeout(timer) };
}

/**
 * Refusals that pass on their own: the controller or the API server is not
 * reachable yet, too many enrollments are being reviewed, or the controller
 * has not seen this pod yet (older clusters bind no node into the token). A
 * DaemonSet's agents start with the cluster, often before the controller.
 * Anything else (the wrong account, node or CA) is a configuration error.
 */
const PASSING = new Set(['CONTROLLER_UNREACHABLE', 'API_UNAVAILABLE', 'ATTESTATION_BUSY', 'NO_NODE', 'INTERNAL']);

const defaultRetryDelay = (attempt: number): number => Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)) * (0.8 + Math.random() * 0.4);

const READ_HINTS: Readonly<Record<string, string>> = {
  kubernetesTokenFile: 'mount a projected serviceAccountToken volume there (deploy/kubernetes/base/agent.yaml)',
  controllerCaFile: "create it from the controller's <dataDir>/ca.pem (docs/deploy.md \"Kubernetes\")",
  joinTokenFile: 'create a token with `entente token create` and put it there (on Kubernetes: the Secret docs/deploy.md names); it is needed only until the node has enrolled',
};

function readFileFor(key: string, path: string, code: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new EntenteError(code, `${key} ${path} cannot be read: ${(err as Error).message}`, { cause: err, hint: READ_HINTS[key] });
  }
}

async function enrollByKubernetesToken(o: NodeIdentityOptions, tokenFile: string): Promise<EnrollResult> {
  if (o.kind !== 'agent') throw new EntenteError('BAD_CONFIG', 'only agents enroll with a Kubernetes service-account token; a gateway needs a join token');
  if (o.controllerCaFile === undefined) throw new EntenteError('BAD_CONFIG', 'kubernetesTokenFile needs controllerCaFile');
  const caFile = o.controllerCaFile;
  const cas = parseControllerCas(readFileFor('controllerCaFile', caFile, 'CONTROLLER_CA_UNREADABLE'));
  if (cas.length === 0) throw new EntenteError('CONTROLLER_CA_UNREADABLE', `controllerCaFile ${caFile} holds no CA certificate (PEM)`, { hint: "give the controller's <dataDir>/ca.pem" });
  for (let attempt = 0; ; attempt++) {
    // Read at every attempt: the kubelet replaces the token well before it expires.
    const token = readFileFor('kubernetesTokenFile', tokenFile, 'KUBERNETES_TOKEN_UNREADABLE').trim();
    try {
      // Each attempt goes to the next replica in the list: one that is down or busy does not hold the node back.
      const url = o.controllerUrls[attempt % o.controllerUrls.length]!;
      const r = await enrollWithKubernetesToken(url, token, cas, caFile, o.node);
      o.log.info({ attempt: attempt + 1 }, 'enrolled with the Kubernetes service-account token');
      return r;
    } catch (err) {
      if (!(err instanceof EntenteError) || !PASSING.has(err.code)) throw err;
      const delay = (o.retryDelayMs ?? defaultRetryDelay)(attempt);
      o.log.warn({ code: err.code, err: describeError(err), retryInMs: Math.round(delay) }, 'Kubernetes enrollment not possible yet; trying again');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
