// The controller's Kubernetes source, started when region.yaml has a
// `kubernetes` section (docs/deploy.md "Kubernetes"): connects with the
// kubeconfig file or the pod's service account, starts a reflector per
// collection and waits (bounded by syncTimeout) for the first lists, so the
// first load serves the cluster rather than refusing it as not synced. Loaded
// by import() only then: client-node and the reflectors stay out of every
// other controller.
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import type { ControllerConfig } from './controller-config.js';
import type { KubernetesSource } from '../kubernetes/source.js';
import { EntenteError, describeError } from '../core/errors.js';

/** Source changes come in bursts (a rollout moves many pods): one reload per this many ms at most. */
const CHANGE_DEBOUNCE_MS = 200;

export async function startKubernetesSource(k: NonNullable<ControllerConfig['kubernetes']>, log: Logger, registry: Registry, onChange: () => void): Promise<KubernetesSource> {
  const [{ endpointFromKubeConfig, httpTransport }, { KubernetesSource }] = await Promise.all([import('../kubernetes/kube-transport.js'), import('../kubernetes/source.js')]);
  const endpoint = await endpointFromKubeConfig(k.kubeconfig ? { kind: 'file', path: k.kubeconfig } : { kind: 'in-cluster' }).catch((err: unknown) => {
    throw new EntenteError('KUBERNETES_CONFIG', `kubernetes${k.kubeconfig ? `.kubeconfig ${k.kubeconfig}` : ' (in-cluster)'}: ${describeError(err)}`, {
      hint: k.kubeconfig ? 'a readable kubeconfig file naming a current context' : 'in a pod: the service account token under /var/run/secrets/kubernetes.io/serviceaccount; elsewhere set kubernetes.kubeconfig',
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const source = new KubernetesSource({
    transport: httpTransport(endpoint),
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
  return source;
}
