// checkMeshConfig: a good config passes untouched (unknown fields too); every
// kind of bad value is refused with its key, the value and what was expected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkMeshConfig } from './mesh-config-schema.js';
import type { MeshConfig } from './mesh-config.js';

const good: MeshConfig = {
  version: 3,
  region: 'eu',
  trustDomain: 'eu.example',
  bundles: { 'eu.example': { keys: [] } },
  services: [{ namespace: 'shop', name: 'web', ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], export: true }],
  workloads: [{ name: 'web-1', namespace: 'shop', service: 'web', serviceAccount: 'web', node: 'node-a', address: '10.0.0.7', attest: { uid: 1000, executable: '/usr/bin/web' } }],
  nodes: { 'node-a': '10.0.0.1:15008', 'node-b': '[2001:db8::1]:15008' },
  remoteRegions: [{ region: 'us', trustDomain: 'us.example', gateway: 'gw.us.example:15443', exportedServices: [], ageMs: 0, stale: false }],
  authorizationPolicies: [{ apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'web-readers', namespace: 'shop' }, spec: { selector: { services: ['web'] }, action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }], to: [{ methods: ['GET'] }] }] } }],
  trafficPolicies: [{ apiVersion: 'entente.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'web', namespace: 'shop' }, spec: { service: 'web', retries: { attempts: 3 } } }],
  policyDigest: 'abc',
  controllerAddresses: ['10.0.0.100:15012'],
};

const tp = good.trafficPolicies![0] as Record<string, unknown>;

describe('checkMeshConfig', () => {
  it('accepts a good config and returns it as given, unknown fields included', () => {
    const withExtra = { ...good, newerField: { x: 1 } };
    const r = checkMeshConfig(withExtra);
    assert.equal(r.kind, 'ok');
    assert.equal(r.kind === 'ok' && r.config, withExtra);
  });

  it('accepts a config without trafficPolicies (older controllers and cached configs) and workloads without weight', () => {
    const { trafficPolicies: _t, ...older } = good;
    assert.equal(checkMeshConfig(older).kind, 'ok');
    assert.equal(checkMeshConfig({ ...good, workloads: [{ ...good.workloads[0], weight: 1000 }] }).kind, 'ok');
  });

  const bad: [string, (c: Record<string, unknown>) => unknown, RegExp][] = [
    ['not an object', () => null, /\(config\)/],
    ['version not a number', (c) => ({ ...c, version: 'nine' }), /version: "nine": expected/],
    ['node address not host:port', (c) => ({ ...c, nodes: { 'node-a': 'not-an-address' } }), /nodes\.node-a: "not-an-address": expected a literal IP:port/],
    ['node port out of range', (c) => ({ ...c, nodes: { 'node-a': '10.0.0.1:99999' } }), /nodes\.node-a: "10\.0\.0\.1:99999"/],
    ['node port zero', (c) => ({ ...c, nodes: { 'node-a': '10.0.0.1:0' } }), /nodes\.node-a/],
    ['node address a name', (c) => ({ ...c, nodes: { 'node-a': 'evil.example:15008' } }), /nodes\.node-a: "evil\.example:15008"/],
    ['node address a wildcard', (c) => ({ ...c, nodes: { 'node-a': '0.0.0.0:15008' } }), /nodes\.node-a/],
    ['node name not a DNS label', (c) => ({ ...c, nodes: { 'Node A': '10.0.0.1:15008' } }), /nodes/],
    ['nodes a list', (c) => ({ ...c, nodes: [] }), /nodes: \[\]: expected/],
    ['workload address not an IP', (c) => ({ ...c, workloads: [{ ...good.workloads[0], address: 'web.local' }] }), /workloads\.0\.address: "web\.local": expected an IP literal/],
    ['service port out of range', (c) => ({ ...c, services: [{ ...good.services[0], ports: [{ port: 70000, targetPort: 1, protocol: 'http' }] }] }), /services\.0\.ports\.0\.port: 70000/],
    ['unknown protocol', (c) => ({ ...c, services: [{ ...good.services[0], ports: [{ port: 80, targetPort: 80, protocol: 'udp' }] }] }), /protocol: "udp"/],
    ['remote gateway without a port', (c) => ({ ...c, remoteRegions: [{ ...good.remoteRegions[0], gateway: 'gw.us.example' }] }), /remoteRegions\.0\.gateway/],
    ['policies not a list', (c) => ({ ...c, authorizationPolicies: {} }), /authorizationPolicies/],
    ['attest selectors of the wrong type', (c) => ({ ...c, workloads: [{ ...good.workloads[0], attest: { uid: 'root' } }] }), /workloads\.0\.attest\.uid/],
    ['attest with an unknown selector', (c) => ({ ...c, workloads: [{ ...good.workloads[0], attest: { uid: 0, exe: '/bin/sh' } }] }), /workloads\.0\.attest/],
    ['attest with no selector', (c) => ({ ...c, workloads: [{ ...good.workloads[0], attest: {} }] }), /workloads\.0\.attest/],
    ['attest executable not absolute', (c) => ({ ...c, workloads: [{ ...good.workloads[0], attest: { executable: 'node' } }] }), /workloads\.0\.attest\.executable/],
    ['traffic policies not a list', (c) => ({ ...c, trafficPolicies: {} }), /trafficPolicies/],
    ['a traffic policy with a bad value', (c) => ({ ...c, trafficPolicies: [{ ...tp, spec: { service: 'web', retries: { attempts: 11 } } }] }), /trafficPolicies\.0\.spec\.retries\.attempts: 11: expected an integer 0-10/],
    ['a traffic policy with an unknown key', (c) => ({ ...c, trafficPolicies: [{ ...tp, spec: { service: 'web', retry: {} } }] }), /trafficPolicies\.0\.spec/],
    ['an authorization policy with an unknown key (a typo that would silently drop a rule)', (c) => ({ ...c, authorizationPolicies: [{ ...(good.authorizationPolicies[0] as object), spec: { selector: { services: ['web'] }, action: 'ALLOW', rules: [{ form: [{ namespaces: ['shop'] }] }] } }] }), /authorizationPolicies\.0\.spec/],
    ['an authorization policy with a bad action', (c) => ({ ...c, authorizationPolicies: [{ ...(good.authorizationPolicies[0] as object), spec: { action: 'PERMIT' } }] }), /authorizationPolicies\.0\.spec\.action/],
    ['a traffic policy of another kind', (c) => ({ ...c, trafficPolicies: [{ ...tp, kind: 'AuthorizationPolicy' }] }), /trafficPolicies\.0\.kind/],
    ['workload weight out of range', (c) => ({ ...c, workloads: [{ ...good.workloads[0], weight: 0 }] }), /workloads\.0\.weight: 0/],
    ['exported endpoint weight not an integer', (c) => ({ ...c, remoteRegions: [{ ...good.remoteRegions[0], exportedServices: [{ namespace: 'shop', name: 'web', ports: [], endpoints: [{ ...good.workloads[0], weight: 1.5 }] }] }] }), /remoteRegions\.0\.exportedServices\.0\.endpoints\.0\.weight: 1\.5/],
    ['missing policyDigest', (c) => ({ ...c, policyDigest: undefined }), /policyDigest: missing: expected/],
  ];
  for (const [what, mutate, message] of bad) {
    it(`refuses: ${what}`, () => {
      const r = checkMeshConfig(mutate({ ...good }));
      assert.equal(r.kind, 'invalid');
      assert.match(r.kind === 'invalid' ? r.problems.join('; ') : '', message);
    });
  }
});
