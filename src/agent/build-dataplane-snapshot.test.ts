// TrafficPolicy and Workload weights from the resource directory to the
// agent's snapshot: controller views -> JSON -> checkMeshConfig -> build; and
// weights of exported endpoints through another region's signed-state parser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../policy/load-resources.js';
import { exportedServices, wireServices, wireWorkloads } from '../controller/mesh-views.js';
import { parseRegionStatePayload } from '../federation/signed-state.js';
import { checkMeshConfig } from '../mesh/mesh-config-schema.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import { DEFAULT_TRAFFIC } from '../policy/traffic-policy.js';
import { buildDataplaneSnapshot } from './build-dataplane-snapshot.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const TREE = `${HEAD}
kind: Service
metadata: { name: catalog, namespace: shop }
spec: { ports: [{ port: 80, targetPort: 8080, protocol: http }, { port: 81, targetPort: 8081 }], export: true }
---
${HEAD}
kind: Workload
metadata: { name: catalog-1, namespace: shop }
spec: { service: catalog, serviceAccount: catalog, node: node-b, address: 10.0.0.7, weight: 3 }
---
${HEAD}
kind: Workload
metadata: { name: catalog-2, namespace: shop }
spec: { service: catalog, serviceAccount: catalog, node: node-b, address: 10.0.0.8 }
---
${HEAD}
kind: TrafficPolicy
metadata: { name: catalog-http, namespace: shop }
spec:
  service: catalog
  ports: [80]
  timeouts: { request: 10s }
  retries: { attempts: 3, retryOn: [connect-failure, gateway-error] }
`;

function load() {
  const r = assembleResources([parseResourceText('tree.yaml', TREE)]);
  assert.deepEqual(r.errors.map((e) => e.message), []);
  return r.resources;
}

/** What the controller would push, as the agent receives it: through JSON and the wire check. */
function configFor(mutate: (c: MeshConfig) => unknown = (c) => c): MeshConfig {
  const resources = load();
  const config: MeshConfig = {
    version: 4, region: 'eu', trustDomain: 'eu.test', bundles: {},
    services: wireServices(resources), workloads: wireWorkloads(resources),
    nodes: { 'node-b': '10.0.0.2:15008' }, remoteRegions: [],
    authorizationPolicies: resources.authorizationPolicies, trafficPolicies: resources.trafficPolicies, policyDigest: 'd',
  };
  const checked = checkMeshConfig(JSON.parse(JSON.stringify(mutate(config))));
  assert.equal(checked.kind, 'ok', checked.kind === 'invalid' ? checked.problems.join('; ') : '');
  return (checked as { config: MeshConfig }).config;
}

describe('buildDataplaneSnapshot: traffic', () => {
  it('compiles the TrafficPolicies the config carries, for the ports they select', () => {
    const snap = buildDataplaneSnapshot(configFor(), { node: 'node-a', outboundPorts: [] });
    const http = snap.traffic.settingsFor('shop', 'catalog', 80);
    assert.equal(http.policy, 'shop/catalog-http');
    assert.equal(http.requestTimeoutMs, 10_000);
    assert.equal(http.retry.attempts, 3);
    assert.deepEqual([...http.retry.retryOn], ['connect-failure', 'gateway-error']);
    assert.equal(snap.traffic.settingsFor('shop', 'catalog', 81), DEFAULT_TRAFFIC, 'a port the policy does not list');
  });

  it('a config without trafficPolicies (an older controller) gets the defaults everywhere', () => {
    const snap = buildDataplaneSnapshot(configFor(({ trafficPolicies: _t, ...c }) => c), { node: 'node-a', outboundPorts: [] });
    assert.equal(snap.traffic.size, 0);
    assert.equal(snap.traffic.settingsFor('shop', 'catalog', 80), DEFAULT_TRAFFIC);
  });

  it('endpoints carry their Workload weight, 1 when not declared', () => {
    const snap = buildDataplaneSnapshot(configFor(), { node: 'node-a', outboundPorts: [] });
    const eps = snap.routes.get('catalog.shop.mesh')!.ports.get(80)!;
    assert.deepEqual(eps.map((e) => [e.authority, e.weight]), [['10.0.0.7:8080', 3], ['10.0.0.8:8080', 1]]);
  });

  it('weights are exported to other regions, kept by their state parser, and reach their agents', () => {
    const exported = exportedServices(load());
    const state = parseRegionStatePayload({
      region: 'us', trustDomain: 'us.test', version: 1, generatedAt: new Date(0).toISOString(), bundle: {}, gateways: ['10.1.0.2:15443'],
      exportedServices: exported, policyDigest: 'd', healthy: true,
    });
    assert.ok(typeof state !== 'string', String(state));
    assert.deepEqual(state.exportedServices[0]!.endpoints.map((e) => e.weight), [3, 1]);
    const config = configFor((c) => ({ ...c, services: [], workloads: [], remoteRegions: [{ region: 'us', trustDomain: 'us.test', gateway: '10.1.0.2:15443', exportedServices: state.exportedServices, ageMs: 0, stale: false }] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    assert.deepEqual(snap.routes.get('catalog.shop.us.mesh')!.ports.get(80)!.map((e) => e.weight), [3, 1]);
  });

  it('every gateway of a region is a path of its own; regions held stale are marked for the balancer', () => {
    const exported = exportedServices(load());
    const remote = (region: string, stale: boolean, gateways: string[]) => ({ region, trustDomain: `${region}.test`, gateway: gateways[0], gateways, exportedServices: exported, ageMs: 0, stale });
    const config = configFor((c) => ({ ...c, services: [], workloads: [], remoteRegions: [remote('us', false, ['10.1.0.2:15443', '10.1.0.3:15443']), remote('ap', true, ['10.2.0.2:15443'])] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    const us = snap.routes.get('catalog.shop.us.mesh')!.ports.get(80)!;
    assert.deepEqual([...new Set(us.map((e) => `${e.dial.host}:${e.dial.port}`))], ['10.1.0.2:15443', '10.1.0.3:15443']);
    assert.equal(us.length, 4, 'two workloads through each of two gateways');
    assert.deepEqual([...(snap.staleRegions ?? [])], ['ap']);
  });

  it('a wire workload without weight (an older controller or region) is weight 1', () => {
    const config = configFor((c) => ({ ...c, workloads: c.workloads.map(({ weight: _w, ...w }) => w) }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    assert.deepEqual(snap.routes.get('catalog.shop.mesh')!.ports.get(80)!.map((e) => e.weight), [1, 1]);
  });
});

describe('buildDataplaneSnapshot: relayed paths', () => {
  const remote = (region: string, gateways: string[], over: Record<string, unknown> = {}) =>
    ({ region, trustDomain: `${region}.test`, gateway: gateways[0], gateways, exportedServices: exportedServices(load()), ageMs: 0, stale: false, ...over });
  const dials = (eps: readonly { dial: { host: string; port: number }; via?: string }[]): string[] =>
    [...new Set(eps.map((e) => `${e.dial.host}:${e.dial.port}${e.via ? ` via ${e.via}` : ''}`))];

  it('a region with relays gets endpoints that dial the relay region\'s gateways, marked via, after its direct ones', () => {
    const config = configFor((c) => ({ ...c, services: [], workloads: [], remoteRegions: [
      remote('us', ['10.1.0.2:15443'], { reachable: false, relays: [{ via: 'ap', rttMs: 90 }, { via: 'sa' }] }),
      remote('ap', ['10.2.0.2:15443', '10.2.0.3:15443', '10.2.0.4:15443']),
      remote('sa', [], { gateway: '10.3.0.2:15443', gateways: undefined }),
    ] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    const us = snap.routes.get('catalog.shop.us.mesh')!.ports.get(80)!;
    // At most two gateways of a relaying region; a region known by one gateway (older controller) too.
    assert.deepEqual(dials(us), ['10.1.0.2:15443', '10.2.0.2:15443 via ap', '10.2.0.3:15443 via ap', '10.3.0.2:15443 via sa']);
    assert.ok(us.every((e) => e.region === 'us'), 'a relayed endpoint is still of the destination region');
    assert.equal(us.length, 2 * 4, 'two workloads per path');
    assert.deepEqual([...new Set(us.filter((e) => e.via === 'ap').map((e) => e.authority))], [...new Set(us.filter((e) => e.via === undefined).map((e) => e.authority))],
      'the relayed endpoints are the same workloads');
    const ap = snap.routes.get('catalog.shop.ap.mesh')!.ports.get(80)!;
    assert.ok(ap.every((e) => e.via === undefined), 'a region without relays has direct endpoints only');
    assert.deepEqual([...(snap.unreachableRegions ?? [])], ['us']);
  });

  it('a relay through a region we hold nothing of adds no endpoint', () => {
    const config = configFor((c) => ({ ...c, services: [], workloads: [], remoteRegions: [remote('us', ['10.1.0.2:15443'], { relays: [{ via: 'zz' }] })] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    assert.deepEqual(dials(snap.routes.get('catalog.shop.us.mesh')!.ports.get(80)!), ['10.1.0.2:15443']);
  });

  it('unreachableRegions holds only regions measured unreachable (not unknown, not reachable)', () => {
    const config = configFor((c) => ({ ...c, services: [], workloads: [], remoteRegions: [
      remote('us', ['10.1.0.2:15443'], { reachable: true }), remote('ap', ['10.2.0.2:15443']), remote('sa', ['10.3.0.2:15443'], { reachable: false }),
    ] }));
    assert.deepEqual([...(buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] }).unreachableRegions ?? [])], ['sa']);
  });
});

describe('buildDataplaneSnapshot: data services', () => {
  const remote = (region: string, gateways: string[]) =>
    ({ region, trustDomain: `${region}.test`, gateway: gateways[0], gateways, exportedServices: exportedServices(load()), ageMs: 0, stale: false });
  // catalog stands in for a data service's members: catalog-1 here, catalog-2 of us (same names, other region).
  const route = (writes: { workload: string; region: string }[], reads: { workload: string; region: string }[]) => ({
    namespace: 'shop', name: 'orders', service: 'catalog', protocol: 'postgresql', readWrite: 'orders-rw', readOnly: 'orders-ro', stickyAfterWriteMs: 3000, writes, reads,
  });

  it('the read-write name reaches the primary in another region through its gateway; the read-only name the local replica', () => {
    const config = configFor((c) => ({ ...c, remoteRegions: [remote('us', ['10.1.0.2:15443'])], dataRoutes: [route([{ workload: 'catalog-2', region: 'us' }], [{ workload: 'catalog-1', region: 'eu' }, { workload: 'catalog-2', region: 'us' }])] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    const rw = snap.routes.get('orders-rw.shop.mesh')!.ports.get(80)!;
    assert.deepEqual(rw.map((e) => [e.region, `${e.dial.host}:${e.dial.port}`, e.authority]), [['us', '10.1.0.2:15443', '10.0.0.8:8080']]);
    const ro = snap.routes.get('orders-ro.shop.mesh')!.ports.get(80)!;
    assert.deepEqual(ro.map((e) => [e.region, `${e.dial.host}:${e.dial.port}`, e.authority]), [['eu', '10.0.0.2:15008', '10.0.0.7:8080']], 'the primary (last) is left out while a replica serves');
    const sticky = snap.routes.get('orders-ro.shop.mesh')!.sticky!;
    assert.deepEqual([sticky.role, sticky.stickyMs, sticky.readWriteHost, sticky.route], ['read', 3000, 'orders-rw.shop.mesh', 'shop/orders']);
    assert.equal(sticky.primary.get(80), rw, 'the very endpoints of the read-write name: one balancer');
  });

  it('only the primary left: reads go to it; a member of a region we hold nothing of adds no endpoint', () => {
    const config = configFor((c) => ({ ...c, dataRoutes: [route([{ workload: 'catalog-1', region: 'eu' }], [{ workload: 'catalog-2', region: 'ap' }, { workload: 'catalog-1', region: 'eu' }])] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    assert.deepEqual(snap.routes.get('orders-ro.shop.mesh')!.ports.get(80)!.map((e) => e.authority), ['10.0.0.7:8080']);
  });

  it('no member can take writes: the read-write name has no route', () => {
    const config = configFor((c) => ({ ...c, dataRoutes: [route([], [{ workload: 'catalog-1', region: 'eu' }])] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    assert.equal(snap.routes.get('orders-rw.shop.mesh'), undefined);
  });
});

describe('buildDataplaneSnapshot: HTTP data services', () => {
  const remote = (region: string, gateways: string[]) =>
    ({ region, trustDomain: `${region}.test`, gateway: gateways[0], gateways, exportedServices: exportedServices(load()), ageMs: 0, stale: false });
  const http = { writes: [{ methods: ['POST'] }], tokenHeader: 'x-entente-consistency', positionPath: '/lag' };
  const route = (writes: { workload: string; region: string; position?: string }[], reads: { workload: string; region: string; position?: string }[]) => ({ namespace: 'shop', name: 'orders', service: 'catalog', protocol: 'http', http, writes, reads });

  it('one name: the primary for writes, the replicas with their positions for reads; the token rule where a member runs', () => {
    const config = configFor((c) => ({ ...c, remoteRegions: [remote('us', ['10.1.0.2:15443'])], dataRoutes: [route([{ workload: 'catalog-2', region: 'us', position: 'ff' }], [{ workload: 'catalog-1', region: 'eu', position: 'f0' }, { workload: 'catalog-2', region: 'us', position: 'ff' }])] }));
    const snap = buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] });
    const r = snap.routes.get('orders.shop.mesh')!;
    const data = r.data!;
    assert.equal(data.route, 'shop/orders');
    assert.deepEqual(data.primary.get(80)!.map((e) => [e.region, e.authority]), [['us', '10.0.0.8:8080']]);
    assert.deepEqual(data.reads.get(80)!.map((e) => [e.region, e.authority]), [['eu', '10.0.0.7:8080']], 'the replicas only, while one serves');
    assert.deepEqual(data.replicas.map((x) => x.position), [0xf0n]);
    assert.equal(data.isWrite('POST', '/x', () => undefined), true);
    assert.equal(data.isWrite('GET', '/x', () => undefined), false);
    assert.equal(r.ports.get(80), data.primary.get(80), 'a call that cannot be classified: the primary');
    assert.equal(r.sticky, undefined);
    const rule = buildDataplaneSnapshot(config, { node: 'node-b', outboundPorts: [] }).dataWrites?.get('shop/catalog');
    assert.deepEqual(rule && [rule.route, rule.tokenHeader, rule.positionPath], ['shop/orders', 'x-entente-consistency', '/lag'], 'catalog-1 runs on node-b: its writes get tokens there');
    assert.equal(buildDataplaneSnapshot(config, { node: 'node-a', outboundPorts: [] }).dataWrites?.size, 0, 'no member on node-a: no token rule');
  });

  it('a controller config with a bad position or token header is refused', () => {
    const bad = (mutate: (d: ReturnType<typeof route>) => unknown) => {
      const config = { version: 1, region: 'eu', trustDomain: 'eu.test', bundles: {}, services: [], workloads: [], nodes: {}, remoteRegions: [], authorizationPolicies: [], trafficPolicies: [], policyDigest: 'd', dataRoutes: [mutate(route([{ workload: 'catalog-1', region: 'eu', position: 'ff' }], []))] };
      return checkMeshConfig(JSON.parse(JSON.stringify(config))).kind;
    };
    assert.equal(bad((d) => d), 'ok');
    assert.equal(bad((d) => ({ ...d, writes: [{ workload: 'catalog-1', region: 'eu', position: 'FF' }] })), 'invalid');
    assert.equal(bad((d) => ({ ...d, http: { ...http, tokenHeader: 'X Bad' } })), 'invalid');
    assert.equal(bad((d) => ({ ...d, http: { ...http, positionPath: 'lag' } })), 'invalid');
  });
});
