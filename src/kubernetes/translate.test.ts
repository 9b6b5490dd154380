// The mapping from Kubernetes objects to Entente resources, as a table of
// what each object becomes or why it is left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { translate, type KubeObjects } from './translate.js';
import type { KubeObject } from './reflector.js';

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'shop', resourceVersion: '1', ...extra });
const obj = (o: Record<string, unknown> & { metadata: Record<string, unknown> }): KubeObject => o as unknown as KubeObject;
const none: KubeObjects = { services: [], endpointSlices: [], pods: [], serviceAccounts: [], custom: [] };

test('Services: TCP ports, appProtocol, export annotation; ExternalName and UDP-only left out', () => {
  const { docs, skipped } = translate({
    ...none,
    services: [
      obj({ metadata: meta('web', { annotations: { 'entente.dev/export': 'true' } }), spec: { ports: [{ port: 80, targetPort: 8080, appProtocol: 'http' }, { port: 81, targetPort: 'named' }, { port: 50051, appProtocol: 'grpc' }, { port: 82, appProtocol: 'kubernetes.io/h2c' }, { port: 53, protocol: 'UDP' }] } }),
      obj({ metadata: meta('dns'), spec: { ports: [{ port: 53, protocol: 'UDP' }] } }),
      obj({ metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'example.org' } }),
    ],
  });
  assert.deepEqual(docs.map((d) => parse(d.text).spec), [{ ports: [{ port: 80, targetPort: 8080, protocol: 'http' }, { port: 81, targetPort: 81, protocol: 'tcp' }, { port: 50051, targetPort: 50051, protocol: 'http2' }, { port: 82, targetPort: 82, protocol: 'http2' }], export: true }]);
  assert.deepEqual(skipped.map((s) => [s.origin, s.reason]), [['kubernetes:services/shop/dns', 'no TCP port'], ['kubernetes:services/shop/ext', 'type ExternalName: no endpoints of its own']]);
});

test('Workloads: one per ready, scheduled pod with an existing account; a pod behind two Services kept in the first', () => {
  const slice = (name: string, svc: string, eps: { pod: string; ip?: string; ready?: boolean }[]) =>
    obj({ metadata: meta(name, { labels: { 'kubernetes.io/service-name': svc } }), addressType: 'IPv4', endpoints: eps.map((e) => ({ ...(e.ip ? { addresses: [e.ip] } : { addresses: [] }), conditions: { ready: e.ready ?? true }, targetRef: { kind: 'Pod', name: e.pod } })) });
  const pod = (name: string, spec: Record<string, unknown>) => obj({ metadata: meta(name), spec });
  const { docs, skipped } = translate({
    ...none,
    services: ['a', 'b'].map((n) => obj({ metadata: meta(n), spec: { ports: [{ port: 80 }] } })),
    serviceAccounts: [obj({ metadata: meta('app') })],
    pods: [pod('p1', { nodeName: 'n1', serviceAccountName: 'app' }), pod('p2', { nodeName: 'n2', serviceAccountName: 'missing' }), pod('p3', { serviceAccountName: 'app' }), pod('p4', { nodeName: 'n1', serviceAccountName: 'app' }), pod('p5', { nodeName: 'n1', serviceAccountName: 'app' })],
    endpointSlices: [
      slice('b-1', 'b', [{ pod: 'p1', ip: '10.0.0.1' }]),
      slice('a-1', 'a', [{ pod: 'p1', ip: '10.0.0.1' }, { pod: 'p2', ip: '10.0.0.2' }, { pod: 'p3', ip: '10.0.0.3' }, { pod: 'p4', ip: '10.0.0.4', ready: false }, { pod: 'p5' }, { pod: 'p9', ip: '10.0.0.9' }]),
      slice('zz-1', 'not-a-service', [{ pod: 'p1', ip: '10.0.0.1' }]),
    ],
  });
  const workloads = docs.filter((d) => d.kind === 'Workload').map((d) => [d.name, parse(d.text).spec]);
  assert.deepEqual(workloads, [['p1', { service: 'a', serviceAccount: 'app', node: 'n1', address: '10.0.0.1' }]]);
  assert.deepEqual(skipped.map((s) => `${s.origin}: ${s.reason}`), [
    'kubernetes:pods/shop/p2: its service account missing does not exist',
    'kubernetes:pods/shop/p3: not scheduled on a node (spec.nodeName)',
    'kubernetes:pods/shop/p5: the endpoint has no address',
    'kubernetes:pods/shop/p9: its Pod is not known (yet)',
    'kubernetes:pods/shop/p1: also behind Service b: a Workload belongs to one Service (kept in a)',
  ]);
});

test("Entente's kinds from their CRDs, as they are", () => {
  const { docs } = translate({ ...none, custom: [obj({ kind: 'AuthorizationPolicy', metadata: meta('allow'), spec: { selector: { services: ['a'] } } })] });
  assert.deepEqual(docs.map((d) => [d.origin, parse(d.text)]), [['kubernetes:authorizationpolicy/shop/allow', { apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'allow', namespace: 'shop' }, spec: { selector: { services: ['a'] } } }]]);
});
