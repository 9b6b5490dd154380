// The list/watch double of the API server (src/kubernetes/api-double.ts) as
// the Kubernetes tests use it: over HTTPS with a certificate made by openssl
// for 127.0.0.1, a bearer token, and a kubeconfig that trusts the certificate
// (certificate-authority-data), applied by client-node's KubeConfig.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeApiDouble } from '../../src/kubernetes/api-double.js';
import { endpointFromKubeConfig, httpTransport, type KubeTransport } from '../../src/kubernetes/kube-transport.js';
import { CRD_NAMES } from '../../src/kubernetes/crds.js';
import { RESOURCE_KINDS } from '../../src/policy/resources.js';

const run = promisify(execFile);

export interface ApiFixture {
  readonly api: KubeApiDouble;
  readonly server: string;
  readonly token: string;
  /** A kubeconfig for the double, with this token (default: the right one). */
  kubeconfig(token?: string): string;
  transport(token?: string): Promise<KubeTransport>;
  close(): Promise<void>;
}

export async function startApiFixture(opts: { bookmarkMs?: number; token?: string } = {}): Promise<ApiFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-kube-'));
  let tls: { cert: string; key: string };
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=kube-apiserver',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'extendedKeyUsage=serverAuth']);
    tls = { cert: await readFile(join(dir, 'c.pem'), 'utf8'), key: await readFile(join(dir, 'k.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const token = opts.token ?? 'test-token-3f9a';
  const api = new KubeApiDouble({ token, bookmarkMs: opts.bookmarkMs ?? 200, tls });
  const server = await api.listen();
  const kubeconfig = (t = token): string =>
    stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'double',
      clusters: [{ name: 'double', cluster: { server, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } }],
      users: [{ name: 'entente', user: { token: t } }],
      contexts: [{ name: 'double', context: { cluster: 'double', user: 'entente' } }],
    });
  return {
    api,
    server,
    token,
    kubeconfig,
    transport: async (t) => httpTransport(await endpointFromKubeConfig({ kind: 'text', text: kubeconfig(t) })),
    close: () => api.close(),
  };
}

/** A Pod in namespace shop, scheduled on `node`. */
export const kubePod = (name: string, node: string, account?: string) => ({ metadata: { name, namespace: 'shop' }, spec: { nodeName: node, ...(account ? { serviceAccountName: account } : {}) } });

/** An EndpointSlice of Service `svc` in namespace shop, one endpoint per pod. */
export const endpointSlice = (name: string, svc: string, endpoints: readonly { pod: string; ip: string; ready?: boolean }[]) => ({
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, targetRef: { kind: 'Pod', name: e.pod, namespace: 'shop' } })),
});

/** The API paths of the collections the controller watches. */
export const PATHS = { services: '/api/v1/services', slices: '/apis/discovery.k8s.io/v1/endpointslices', pods: '/api/v1/pods', accounts: '/api/v1/serviceaccounts', policies: '/apis/entente.dev/v1alpha1/authorizationpolicies' } as const;

/**
 * Every collection the controller lists (core kinds and Entente's CRDs), with
 * the shop's service accounts and its two Services: ledger (http, 80 -> 8080)
 * and frontend. Pods, slices and policies are each test's own.
 */
export function seedShop(api: KubeApiDouble): void {
  for (const [path, kind, v] of [[PATHS.services, 'Service', 'v1'], [PATHS.slices, 'EndpointSlice', 'discovery.k8s.io/v1'], [PATHS.pods, 'Pod', 'v1'], [PATHS.accounts, 'ServiceAccount', 'v1']] as const) api.collection(path, kind, v);
  for (const kind of RESOURCE_KINDS) api.collection(`/apis/entente.dev/v1alpha1/${CRD_NAMES[kind].plural}`, kind, 'entente.dev/v1alpha1');
  for (const a of ['frontend', 'ledger']) api.put(PATHS.accounts, { metadata: { name: a, namespace: 'shop' } });
  api.put(PATHS.services, { metadata: { name: 'ledger', namespace: 'shop' }, spec: { ports: [{ port: 80, targetPort: 8080, appProtocol: 'http' }] } });
  api.put(PATHS.services, { metadata: { name: 'frontend', namespace: 'shop' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
}
