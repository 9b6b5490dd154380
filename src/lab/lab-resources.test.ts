// The lab's generated policy tree loads without errors in every region (the
// shared file plus that region's Workloads), TrafficPolicy included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../policy/load-resources.js';
import { buildTopology } from './lab-topology.js';
import { policiesYaml, regionResourcesYaml } from './lab-resources.js';

test('lab resources: each region\'s tree loads whole, with the catalog TrafficPolicy', () => {
  const topo = buildTopology({ regions: ['eu', 'us', 'ap'], ipPrefix: '127.85', rttMs: {}, jitterMs: 0, rate: 1 });
  for (const r of topo.regions) {
    const { resources, errors } = assembleResources([
      parseResourceText('policies.yaml', policiesYaml(topo)),
      parseResourceText(`${r.name}.yaml`, regionResourcesYaml(topo, r.name, { uid: 1000 })),
    ]);
    assert.deepEqual(errors.map((e) => e.message), [], r.name);
    assert.deepEqual(resources.trafficPolicies.map((p) => [p.metadata.name, p.spec.service, p.spec.retries.attempts, p.spec.timeouts.request]), [['catalog-callers', 'catalog', 2, '10s'], ['payments-callers', 'payments', 2, '10s']]);
  }
});
