// TrafficPolicy against the rest of the set: an unknown Service or port is
// refused with what is defined; two policies on one (service, port) are refused,
// the error naming both; disjoint ports and other Services are fine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from './load-resources.js';
import { digestResources } from './resource-set.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const SERVICES = `${HEAD}
kind: Service
metadata: { name: payments, namespace: shop }
spec: { ports: [{ port: 80, protocol: http }, { port: 9000, targetPort: 19000 }] }
---
${HEAD}
kind: Service
metadata: { name: catalog, namespace: shop }
spec: { ports: [{ port: 80 }] }
`;
const traffic = (name: string, spec: string, namespace = 'shop'): string => `${HEAD}\nkind: TrafficPolicy\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec: ${spec}\n`;

const load = (...policies: string[]) =>
  assembleResources([parseResourceText('services.yaml', SERVICES), ...policies.map((p, i) => parseResourceText(`traffic-${i}.yaml`, p))]);

describe('checkTrafficPolicies (through assembleResources)', () => {
  const good: [string, string[]][] = [
    ['one policy per Service', [traffic('pay', '{ service: payments }'), traffic('cat', '{ service: catalog }')]],
    ['two policies on disjoint ports of one Service', [traffic('pay-80', '{ service: payments, ports: [80] }'), traffic('pay-9000', '{ service: payments, ports: [9000] }')]],
    ['the same name in another namespace with its own Service', [traffic('pay', '{ service: payments }')]],
  ];
  for (const [name, docs] of good) {
    it(`accepts ${name}`, () => {
      const r = load(...docs);
      assert.deepEqual(r.errors.map((e) => e.message), []);
      assert.equal(r.resources.trafficPolicies.length, docs.length);
    });
  }

  const bad: { name: string; docs: string[]; code: string; key: string; file: string; expected: RegExp }[] = [
    { name: 'an undeclared Service', docs: [traffic('pay', '{ service: paymnets }')], code: 'UNKNOWN_SERVICE', key: 'spec.service', file: 'traffic-0.yaml', expected: /defined there: catalog, payments/ },
    { name: 'a Service of another namespace', docs: [traffic('pay', '{ service: payments }', 'web')], code: 'UNKNOWN_SERVICE', key: 'spec.service', file: 'traffic-0.yaml', expected: /namespace "web" \(none is defined there\)/ },
    { name: 'a target port instead of the Service port', docs: [traffic('pay', '{ service: payments, ports: [19000] }')], code: 'UNKNOWN_PORT', key: 'spec.ports[0]', file: 'traffic-0.yaml', expected: /a port of Service shop\/payments \(it has 80, 9000; ports are Service ports, not target ports\)/ },
    { name: 'two policies on every port', docs: [traffic('a', '{ service: payments }'), traffic('b', '{ service: payments }')], code: 'OVERLAPPING_TRAFFIC_POLICY', key: 'spec.service', file: 'traffic-1.yaml', expected: /TrafficPolicy shop\/a \(traffic-0.yaml document 0\) already selects every port of Service shop\/payments/ },
    { name: 'a port policy after an all-ports one', docs: [traffic('a', '{ service: payments }'), traffic('b', '{ service: payments, ports: [9000] }')], code: 'OVERLAPPING_TRAFFIC_POLICY', key: 'spec.ports', file: 'traffic-1.yaml', expected: /shop\/a .* already selects port 9000 of Service shop\/payments/ },
    { name: 'an all-ports policy after a port one', docs: [traffic('a', '{ service: payments, ports: [80] }'), traffic('b', '{ service: payments }')], code: 'OVERLAPPING_TRAFFIC_POLICY', key: 'spec.service', file: 'traffic-1.yaml', expected: /shop\/a .* already selects port 80 /},
    { name: 'a shared port among others', docs: [traffic('a', '{ service: payments, ports: [80, 9000] }'), traffic('b', '{ service: payments, ports: [9000] }')], code: 'OVERLAPPING_TRAFFIC_POLICY', key: 'spec.ports', file: 'traffic-1.yaml', expected: /already selects port 9000 / },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const r = load(...c.docs);
      assert.equal(r.errors.length, 1, r.errors.map((e) => e.message).join('; '));
      const e = r.errors[0]!;
      assert.equal(e.code, c.code);
      assert.equal(e.key, c.key);
      assert.equal(e.file, c.file);
      assert.match(e.expected, c.expected);
      assert.match(e.resource ?? '', /^TrafficPolicy shop|web\//);
      assert.ok(e.line !== undefined);
    });
  }

  it('the digest: a set without TrafficPolicies is digested as before the kind existed; adding one changes it', () => {
    const without = load();
    const withOne = load(traffic('pay', '{ service: payments }'));
    const spelled = load(traffic('pay', '{ service: payments, timeouts: { connect: 5000ms }, loadBalancer: { locality: zone } }'));
    assert.notEqual(digestResources(withOne.resources), digestResources(without.resources));
    assert.equal(digestResources(spelled.resources), digestResources(withOne.resources), 'defaults spelled out, in any spelling, change nothing');
  });
});
