// The Kubernetes source behind a resource store, against the list/watch
// double of the API server over HTTPS (no API server can run here): Services,
// EndpointSlices, Pods and ServiceAccounts become Services and Workloads (a
// pod's node from spec.nodeName), Entente's kinds come from their CRDs, a bad
// object is refused alone, a pod that moves moves its Workload, nothing loads
// until every collection has listed, and the policy directory wins on a clash.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import type { KubeApiDouble } from '../../src/kubernetes/api-double.js';
import { endpointSlice, kubePod, startApiFixture, type ApiFixture } from './api-fixture.js';
import { KubernetesSource } from '../../src/kubernetes/source.js';
import { ResourceStore } from '../../src/policy/resource-store.js';
import { CRD_NAMES } from '../../src/kubernetes/crds.js';
import { RESOURCE_KINDS } from '../../src/policy/resources.js';

const P = {
  services: '/api/v1/services',
  slices: '/apis/discovery.k8s.io/v1/endpointslices',
  pods: '/api/v1/pods',
  accounts: '/api/v1/serviceaccounts',
  policies: '/apis/entente.dev/v1alpha1/authorizationpolicies',
};

const service = (name: string, ports: unknown[], annotations: Record<string, string> = {}) => ({ metadata: { name, namespace: 'shop', annotations }, spec: { selector: { app: name }, ports } });
const pod = (name: string, node: string, account = 'web') => kubePod(name, node, account);
const slice = endpointSlice;

describe('KubernetesSource in a ResourceStore', () => {
  let fixture: ApiFixture;
  let api: KubeApiDouble;
  let dir: string;
  let store: ResourceStore;
  let source: KubernetesSource;
  const registry = new Registry();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'entente-k8s-src-'));
    fixture = await startApiFixture();
    api = fixture.api;
    api.collection(P.services, 'Service', 'v1');
    api.collection(P.slices, 'EndpointSlice', 'discovery.k8s.io/v1');
    api.collection(P.pods, 'Pod', 'v1');
    api.collection(P.accounts, 'ServiceAccount', 'v1');
    for (const kind of RESOURCE_KINDS) api.collection(`/apis/entente.dev/v1alpha1/${CRD_NAMES[kind].plural}`, kind, 'entente.dev/v1alpha1');
    // The cluster: web (http, exported) with two pods on two nodes, one not ready; a pod whose account is missing.
    api.put(P.accounts, { metadata: { name: 'web', namespace: 'shop' } });
    api.put(P.services, service('web', [{ port: 80, targetPort: 8080, appProtocol: 'http' }, { port: 53, protocol: 'UDP' }], { 'entente.dev/export': 'true' }));
    api.put(P.services, service('bad', [{ port: 0, targetPort: 1 }]));
    for (const [n, node] of [['web-1', 'node-a'], ['web-2', 'node-b'], ['web-3', 'node-b']] as const) api.put(P.pods, pod(n, node));
    api.put(P.pods, pod('ghost-1', 'node-a', 'nobody'));
    api.put(P.slices, slice('web-abc', 'web', [{ pod: 'web-1', ip: '10.1.0.1' }, { pod: 'web-2', ip: '10.1.0.2' }, { pod: 'web-3', ip: '10.1.0.3', ready: false }, { pod: 'ghost-1', ip: '10.1.0.9' }]));
    api.put(P.policies, { metadata: { name: 'web-callers', namespace: 'shop' }, spec: { selector: { services: ['web'] }, action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }] }] } });
    // The policy directory declares its own Service "web" too: it wins.
    await writeFile(join(dir, 'web.yaml'), 'apiVersion: entente.dev/v1alpha1\nkind: Service\nmetadata: { name: api, namespace: shop }\nspec: { ports: [{ port: 9000 }] }\n');
    api.failNext(500, 4); // the first lists fail: nothing may load until every collection has listed
    const log = createLogger('test', {}, { level: 'fatal' });
    source = new KubernetesSource({ transport: await fixture.transport(), log, registry, onChange: () => store?.sourceChanged(), backoff: { initialMs: 20, maxMs: 200 }, watchTimeoutS: 30 });
    store = new ResourceStore({ dir, log, source, debounceMs: 20, pollIntervalMs: 60_000 });
  });
  after(async () => {
    await store?.close();
    await source?.stop();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to load before every collection has listed, then serves the cluster', async () => {
    await store.start();
    assert.equal(store.status().errors[0]?.code, 'SOURCE_NOT_SYNCED', 'not started: not synced');
    assert.equal(store.snapshot().generation, 0, 'nothing in force');
    source.start();
    const set = await eventually(async () => {
      const s = store.snapshot().resources;
      return s.workloads.length === 2 ? s : undefined;
    }, { what: 'the cluster loaded', timeoutMs: 30_000, intervalMs: 20 });
    const web = set.services.find((s) => s.metadata.name === 'web')!;
    assert.deepEqual(web.spec.ports.map((p) => [p.port, p.targetPort, p.protocol]), [[80, 8080, 'http']], 'the UDP port left out, appProtocol http');
    assert.equal(web.spec.export, true);
    assert.deepEqual(set.workloads.map((w) => [w.metadata.name, w.spec.node, w.spec.address, w.spec.serviceAccount]).sort(), [['web-1', 'node-a', '10.1.0.1', 'web'], ['web-2', 'node-b', '10.1.0.2', 'web']], 'the not-ready pod and the one without its account left out');
    assert.deepEqual(set.authorizationPolicies.map((p) => p.metadata.name), ['web-callers'], 'from the CRD');
    assert.ok(set.services.some((s) => s.metadata.name === 'api'), 'the directory still counts');
    assert.equal(set.services.some((s) => s.metadata.name === 'bad'), false, 'the invalid Service refused alone');
    const refused = await registry.getSingleMetric('entente_kubernetes_refused_total')!.get();
    assert.deepEqual(Object.fromEntries(refused.values.map((v) => [v.labels.reason, v.value])), { unmappable: 1, invalid: 1 });
  });

  it('a pod that moves moves its Workload; a deleted one goes; the directory wins on a clash', async () => {
    api.put(P.pods, pod('web-2', 'node-c'));
    api.delete(P.slices, 'shop', 'web-abc');
    api.put(P.slices, slice('web-abc', 'web', [{ pod: 'web-2', ip: '10.1.0.22' }]));
    const moved = await eventually(async () => {
      const ws = store.snapshot().resources.workloads;
      return ws.length === 1 && ws[0]!.spec.node === 'node-c' ? ws : undefined;
    }, { what: 'web-2 on node-c, web-1 gone', timeoutMs: 30_000, intervalMs: 20 });
    assert.equal(moved[0]!.spec.address, '10.1.0.22');
    await writeFile(join(dir, 'web.yaml'), 'apiVersion: entente.dev/v1alpha1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec: { ports: [{ port: 9000, protocol: tcp }] }\n');
    await store.reload();
    const web = store.snapshot().resources.services.find((s) => s.metadata.name === 'web')!;
    assert.deepEqual(web.spec.ports.map((p) => p.port), [9000], "the directory's web, not the cluster's");
  });
});
