// Views of a region whose resource set declares Services of the whole mesh
// (names are mesh-wide): only the Services it runs Workloads of are exported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../policy/load-resources.js';
import { buildMeshConfigBody, exportedServices } from './mesh-views.js';

const service = (name: string, exported: boolean): string =>
  `apiVersion: entente.dev/v1alpha1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { ports: [{ port: 80, protocol: http }], export: ${exported} }\n`;
const workload = (name: string, svc: string): string =>
  `apiVersion: entente.dev/v1alpha1\nkind: Workload\nmetadata: { name: ${name}, namespace: shop }\nspec: { service: ${svc}, serviceAccount: ${svc}, node: n1, address: 10.0.0.${name.length} }\n`;

test('exportedServices: a Service declared here but run only in other regions is not exported with zero endpoints', () => {
  const text = [service('ledger', true), service('catalog', true), service('internal', false), workload('ledger-1', 'ledger'), workload('internal-1', 'internal')].join('---\n');
  const { resources, errors } = assembleResources([parseResourceText('mesh.yaml', text)]);
  assert.deepEqual(errors, []);
  const out = exportedServices(resources);
  assert.deepEqual(out.map((s) => [s.name, s.endpoints.map((w) => w.name)]), [['ledger', ['ledger-1']]]);
});

test('buildMeshConfigBody: the TrafficPolicies go to agents as loaded, and every wire workload carries its weight', () => {
  const policy = 'apiVersion: entente.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: ledger, namespace: shop }\nspec: { service: ledger, ports: [80] }\n';
  const text = [service('ledger', true), workload('ledger-1', 'ledger').replace('address:', 'weight: 7, address:'), workload('ledger-22', 'ledger'), policy].join('---\n');
  const { resources, errors } = assembleResources([parseResourceText('mesh.yaml', text)]);
  assert.deepEqual(errors, []);
  const body = buildMeshConfigBody({
    region: 'eu', trustDomain: 'eu.test', resources, policyDigest: 'd', policy: { digest: 'p', resources: {} }, nodes: [], connectedGateways: [], ownBundle: { keys: [] }, peerBundles: {}, remoteRegions: [], anycast: [],
  });
  assert.equal(body.trafficPolicies, resources.trafficPolicies);
  assert.equal(body.trafficPolicies?.length, 1);
  assert.deepEqual(body.workloads.map((w) => [w.name, w.weight]), [['ledger-1', 7], ['ledger-22', 1]]);
});
