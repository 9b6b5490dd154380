// Selectors travel from the Workload resource to the agent of its node (not to
// other regions), and are compiled there with the node's own accounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportedServices, wireWorkloads } from '../../controller/mesh-views.js';
import { buildDataplaneSnapshot } from '../build-dataplane-snapshot.js';
import type { ResourceSet } from '../../policy/resource-set.js';
import type { MeshConfig } from '../../mesh/mesh-config.js';

const resources = {
  services: [{ apiVersion: 'entente.dev/v1alpha1', kind: 'Service', metadata: { name: 'cart', namespace: 'shop' }, spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'tcp' }], export: true } }],
  workloads: [
    {
      apiVersion: 'entente.dev/v1alpha1',
      kind: 'Workload',
      metadata: { name: 'cart-1', namespace: 'shop' },
      spec: { service: 'cart', serviceAccount: 'cart', node: 'node-a', address: '10.0.0.7', attest: { user: 'shop', executable: '/nonexistent/node' } },
    },
    { apiVersion: 'entente.dev/v1alpha1', kind: 'Workload', metadata: { name: 'cart-2', namespace: 'shop' }, spec: { service: 'cart', serviceAccount: 'cart', node: 'node-a', address: '10.0.0.8' } },
  ],
  authorizationPolicies: [],
} as unknown as ResourceSet;

test('attest goes to the agents of the region as declared, and is not published to other regions', () => {
  const wire = wireWorkloads(resources);
  assert.deepEqual(wire[0]!.attest, { user: 'shop', executable: '/nonexistent/node' });
  assert.equal(wire[1]!.attest, undefined);
  const exported = exportedServices(resources);
  assert.ok(exported[0]!.endpoints.every((e) => !('attest' in e)));
  assert.equal(exported[0]!.endpoints.length, 2);
});

test('the agent compiles selectors with its node\'s accounts when it builds the snapshot', () => {
  const config: MeshConfig = {
    version: 1, region: 'eu', trustDomain: 'eu.test', bundles: {}, services: [], workloads: wireWorkloads(resources), nodes: {}, remoteRegions: [], authorizationPolicies: [], policyDigest: '',
  };
  const build = (uid: number | undefined) =>
    buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [], accounts: { users: new Map(uid === undefined ? [] : [['shop', uid]]), groups: new Map(), sources: { users: '/etc/passwd', groups: '/etc/group' } } });
  const w = build(1001).localWorkloadsByAddress.get('10.0.0.7')!;
  assert.deepEqual(w.attest, { uid: { id: 1001, text: '1001 (user shop)' }, executable: { path: '/nonexistent/node', text: '/nonexistent/node' } });
  assert.equal(build(undefined).localWorkloadsByAddress.get('10.0.0.7')!.attest?.uid?.id, undefined, 'a name unknown on this node resolves to nothing');
  assert.equal(build(1001).localWorkloadsByAddress.get('10.0.0.8')!.attest, undefined);
});

test('agent config: attestation.requireSelectors defaults to false and takes only a boolean', async () => {
  const { agentConfigSchema } = await import('../agent-config.js');
  const base = { node: 'node-a', controller: 'https://127.0.0.1:15012', dataDir: '/tmp/x', listen: { inbound: '127.0.0.1:15008' } };
  assert.equal(agentConfigSchema.parse(base).attestation.requireSelectors, false);
  assert.equal(agentConfigSchema.parse({ ...base, attestation: { requireSelectors: true } }).attestation.requireSelectors, true);
  const bad = agentConfigSchema.safeParse({ ...base, attestation: { requireSelectors: 'yes' } });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /true or false/);
  assert.equal(agentConfigSchema.safeParse({ ...base, attestation: { requireSelector: true } }).success, false, 'a misspelt key is refused');
});
