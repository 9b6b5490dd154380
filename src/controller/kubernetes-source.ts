// The controller's Kubernetes source, started when region.yaml has a
// `kubernetes` section (docs/deploy.md "Kubernetes"): connects with the
// kubeconfig file or the pod's service account, starts a reflector per
// collection and waits (bounded by syncTimeout) for the first lists, so the
// first load serves the cluster rather than refusing it as not synced; with
// `agentAttestation`, also the enrollment of agents by service-account token
// over the same connection. Loaded by import() only then: client-node and the
// reflectors stay out of every other controller.
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import type { ControllerConfig } from './controller-config.js';
import type { KubernetesSource } from '../kubernetes/source.js';
import { EntenteError, describeError } from '../core/errors.js';
import { KubernetesEnrollment, type KubernetesEnrollmentOptions } from './kubernetes-enrollment.js';

/** Source changes come in bursts (a rollout moves many pods): one reload per this many ms at most. */
const CHANGE_DEBOUNCE_MS = 200;

export interface KubernetesParts {
  readonly source: KubernetesSource;
  /** Present when region.yaml has kubernetes.agentAttestation: agents may enroll by service-account token. */
  readonly enrollment?: KubernetesEnrollment;
}

export async function startKubernetesSource(k: NonNullable<ControllerConfig['kubernetes']>, log: Logger, registry: Registry, onChange: () => void, nodes: KubernetesEnrollmentOptions['nodes']): Promise<KubernetesParts> {
  const [{ endpointFromKubeConfig, httpTransport }, { KubernetesSource }, { TokenReviewAttestor }] = await Promise.all([
    import('../kubernetes/kube-transport.js'),
    import('../kubernetes/source.js'),
    import('../kubernetes/node-attestor.js'),
  ]);
  const endpoint = await endpointFromKubeConfig(k.kubeconfig ? { kind: 'file', path: k.kubeconfig } : { kind: 'in-cluster' }).catch((err: unknown) => {
    throw new EntenteError('KUBERNETES_CONFIG', `kubernetes${k.kubeconfig ? `.kubeconfig ${k.kubeconfig}` : ' (in-cluster)'}: ${describeError(err)}`, {
      hint: k.kubeconfig ? 'a readable kubeconfig file naming a current context' : 'in a pod: the service account token under /var/run/secrets/kubernetes.io/serviceaccount; elsewhere set kubernetes.kubeconfig',
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const transport = httpTransport(endpoint);
  const source = new KubernetesSource({
    transport,
    log,
    registry,
    onChange: () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        onChange();
      }, CHANGE_DEBOUNCE_MS);
      timer.unref();
    },
  });
  source.start();
  const synced = await source.waitForSync(k.syncTimeout);
  if (synced) log.info({ server: endpoint.server }, 'Kubernetes source synced: every collection listed');
  else log.warn({ server: endpoint.server, waitedMs: k.syncTimeout }, 'Kubernetes source not synced yet: the set in force stays until every collection has been listed');
  const a = k.agentAttestation;
  if (!a) return { source };
  // The pod reflector answers which node a token's pod is on (older clusters bind no node into the token) and its addresses.
  const attestor = new TokenReviewAttestor({
    transport,
    audience: a.audience,
    serviceAccounts: a.serviceAccounts,
    podNode: (ns, name, uid) => {
      const pod = source.pod(ns, name);
      if (!pod || (uid !== undefined && pod.metadata.uid !== uid)) return undefined;
      const nodeName = (pod.spec as { nodeName?: unknown } | undefined)?.nodeName;
      return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
    },
  });
  log.info({ audience: a.audience, serviceAccounts: a.serviceAccounts }, 'agents may enroll with their Kubernetes service-account token (TokenReview)');
  return { source, enrollment: new KubernetesEnrollment({ attestor, nodes, pod: (ns, name) => source.pod(ns, name) }) };
}
