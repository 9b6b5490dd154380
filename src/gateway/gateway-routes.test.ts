// gatewayRoutes: agents' addresses become routes; a controller or gateway
// address anywhere in the table refuses the whole config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayRoutes, type GatewayRouteContext } from './gateway-routes.js';
import type { MeshConfig } from '../mesh/mesh-config.js';

const ctx: GatewayRouteContext = {
  controllers: [{ host: '10.0.0.100', port: 15012 }],
  own: [{ host: '0.0.0.0', port: 15443 }],
  isLocal: (ip) => ip === '10.0.0.2' || ip.startsWith('127.'),
};
const config = (nodes: Record<string, string>, controllerAddresses?: string[]): MeshConfig =>
  ({ version: 1, region: 'eu', trustDomain: 'eu.example', bundles: {}, services: [], workloads: [], nodes, remoteRegions: [], authorizationPolicies: [], policyDigest: '', ...(controllerAddresses ? { controllerAddresses } : {}) }) as MeshConfig;

describe('gatewayRoutes', () => {
  const cases: [string, MeshConfig, string][] = [
    ['agents only', config({ 'node-a': '10.0.0.11:15008', 'node-b': '[2001:db8::1]:15008' }), 'ok node-a,node-b'],
    ['the controller URL', config({ 'node-a': '10.0.0.11:15008', evil: '10.0.0.100:15012' }), 'controller_address'],
    ["a published controller listener (admin)", config({ evil: '10.0.0.100:15000' }, ['10.0.0.100:15012', '10.0.0.100:15000']), 'controller_address'],
    ['a wildcard controller listener, on a local address', config({ evil: '127.0.0.1:15013' }, ['0.0.0.0:15013']), 'controller_address'],
    ["the gateway's own wildcard listener, via a local address", config({ evil: '10.0.0.2:15443' }), 'own_address'],
    ['same port as the gateway on another host', config({ 'node-a': '10.0.0.11:15443' }), 'ok node-a'],
    ['same host as the controller, another port', config({ 'node-a': '10.0.0.100:15008' }), 'ok node-a'],
  ];
  for (const [what, c, want] of cases) {
    it(what, () => {
      const d = gatewayRoutes(c, ctx);
      assert.equal(d.kind === 'ok' ? `ok ${[...d.value.keys()].join(',')}` : d.reason, want, d.kind === 'refused' ? d.message : '');
    });
  }
});
