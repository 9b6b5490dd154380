// lab-store: the store's plan (addresses per region, no clash with the lab's
// own) and its resources, which load whole with the lab's in every region.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../policy/load-resources.js';
import { buildTopology, PORTS } from './lab-topology.js';
import { appendYaml, policiesYaml, regionResourcesYaml } from './lab-resources.js';
import { STORE, mergeExtra, planStore, storeResources } from './lab-store.js';

const topo = buildTopology({ regions: ['eu', 'us', 'ap'], ipPrefix: '127.86', rttMs: {}, jitterMs: 0, rate: 1 });
const plan = planStore(topo);

test('the plan: a primary in the first region, a replica in each other, every address in its region and unused by the lab', () => {
  assert.deepEqual(plan.members.map((m) => [m.name, m.role, m.host, m.node]), [
    ['orders-pg-eu', 'primary', '127.86.1.50', 'eu-node-2'],
    ['orders-pg-us', 'replica', '127.86.2.50', 'us-node-2'],
    ['orders-pg-ap', 'replica', '127.86.3.50', 'ap-node-2'],
  ]);
  const lab = new Set([
    ...topo.regions.flatMap((r) => [r.controllerIp, r.gatewayIp, ...r.agents.map((a) => a.ip), ...topo.regions.filter((o) => o !== r).map((o) => r.linkIp(o))]),
    ...topo.workloads.map((w) => w.address),
  ]);
  const store = [...plan.members.map((m) => m.host), ...plan.clients.flatMap((c) => [c.writer, c.reader, c.rwListen.split(':')[0]!, c.roListen.split(':')[0]!])];
  assert.equal(new Set(store).size, store.length, 'no address twice');
  for (const a of store) assert.ok(!lab.has(a), `${a} is the lab's`);
  for (const c of plan.clients) assert.deepEqual(c.stats, { host: c.writer, port: PORTS.appStats });
});

test("the store's resources load whole with the lab's in every region: the DataRoute, the policy, each region's Workloads", () => {
  const extra = mergeExtra({ sharedYaml: '', regionYaml: {} }, storeResources(topo, plan, '/lab/store-probe.pass', { uid: 1000 }));
  for (const r of topo.regions) {
    const { resources, errors } = assembleResources([
      parseResourceText('policies.yaml', appendYaml(policiesYaml(topo), extra.sharedYaml)),
      parseResourceText(`${r.name}.yaml`, appendYaml(regionResourcesYaml(topo, r.name, { uid: 1000 }), extra.regionYaml?.[r.name])),
    ]);
    assert.deepEqual(errors.map((e) => e.message), [], r.name);
    const route = resources.dataRoutes.find((d) => d.metadata.name === STORE.route)!;
    assert.equal(route.spec.probe.passwordFile, '/lab/store-probe.pass');
    assert.equal(route.spec.tcp?.readOnly, STORE.readOnly);
    assert.deepEqual(resources.workloads.filter((w) => w.spec.service === STORE.service).map((w) => w.spec.address), [`127.86.${r.index + 1}.50`]);
  }
  // The clients' outbound ports sit on their node's agent, one per DataRoute name.
  assert.deepEqual(extra.outboundPorts?.['us-node-1'], [
    { host: 'orders-rw.shop.mesh', port: 5432, listen: '127.86.2.51:5432' },
    { host: 'orders-ro.shop.mesh', port: 5432, listen: '127.86.2.52:5432' },
  ]);
});
