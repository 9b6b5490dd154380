// relayTargets / probeTargets from a config (relayTo only, never our own trust
// domain, expired regions skipped, controller and own addresses left out) and
// GatewayRouter's choice of a relay gateway by what the probes say.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayRouter, probeTargets, relayTargets } from './relay-routes.js';
import type { GatewayRouteContext } from './gateway-routes.js';
import type { GatewayRoutes } from './route-decision.js';
import type { MeshConfig, RemoteRegion } from '../mesh/mesh-config.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';

const ctx: GatewayRouteContext = {
  controllers: [{ host: '10.0.0.100', port: 15012 }],
  own: [{ host: '0.0.0.0', port: 15443 }],
  isLocal: (ip) => ip === '10.0.0.2' || ip.startsWith('127.'),
};
const remote = (region: string, gateways: string[], over: Partial<RemoteRegion> = {}): RemoteRegion =>
  ({ region, trustDomain: `${region}.example`, gateway: gateways[0], gateways, exportedServices: [], ageMs: 0, stale: false, ...over });
const config = (remoteRegions: RemoteRegion[], over: Partial<MeshConfig> = {}): MeshConfig =>
  ({ version: 1, region: 'eu', trustDomain: 'eu.example', bundles: {}, services: [], workloads: [], nodes: {}, remoteRegions, authorizationPolicies: [], policyDigest: '', ...over }) as MeshConfig;
const show = (ts: ReturnType<typeof relayTargets>): string[] => ts.map((t) => `${t.region}@${t.trustDomain}:${t.gateways.map(formatSocketAddress).join(',')}`);

describe('relayTargets', () => {
  const regions = [
    remote('us', ['10.1.0.2:15443', '10.1.0.3:15443']),
    remote('ap', ['10.2.0.2:15443']),
    remote('sa', ['10.3.0.2:15443'], { expired: true }),
    remote('old', [], { gateway: '10.4.0.2:15443', gateways: undefined } as Partial<RemoteRegion>),
  ];
  const cases: Array<[string, MeshConfig, string[]]> = [
    ['no relayTo: no relays', config(regions), []],
    ['only regions in relayTo', config(regions, { relayTo: ['us'] }), ['us@us.example:10.1.0.2:15443,10.1.0.3:15443']],
    ['expired regions are skipped', config(regions, { relayTo: ['us', 'sa'] }), ['us@us.example:10.1.0.2:15443,10.1.0.3:15443']],
    ['a region known by its single gateway (older controller)', config(regions, { relayTo: ['old'] }), ['old@old.example:10.4.0.2:15443']],
    ['never our own trust domain, in any case', config([remote('eu2', ['10.5.0.2:15443'], { trustDomain: 'EU.example' })], { relayTo: ['eu2'] }), []],
    ['relayTo naming an unknown region', config(regions, { relayTo: ['zz'] }), []],
    ["the controller's address is left out", config([remote('us', ['10.0.0.100:15012', '10.1.0.2:15443'])], { relayTo: ['us'] }), ['us@us.example:10.1.0.2:15443']],
    ['a published controller listener is left out', config([remote('us', ['10.0.0.100:15000'])], { relayTo: ['us'], controllerAddresses: ['10.0.0.100:15000'] }), []],
    ["the gateway's own wildcard listener, via a local address", config([remote('us', ['127.0.0.1:15443', '10.0.0.2:15443', '10.1.0.2:15443'])], { relayTo: ['us'] }), ['us@us.example:10.1.0.2:15443']],
    ['trust domains are lower-cased', config([remote('us', ['10.1.0.2:15443'], { trustDomain: 'US.Example' })], { relayTo: ['us'] }), ['us@us.example:10.1.0.2:15443']],
  ];
  for (const [what, c, want] of cases) it(what, () => assert.deepEqual(show(relayTargets(c, ctx)), want));
});

describe('probeTargets', () => {
  it('every remote gateway address, relayed to or not; never expired regions, our own, or the controller', () => {
    const c = config([
      remote('us', ['10.1.0.2:15443', '10.0.0.100:15012']),
      remote('ap', ['10.2.0.2:15443']),
      remote('sa', ['10.3.0.2:15443'], { expired: true }),
      remote('eu2', ['10.5.0.2:15443'], { trustDomain: 'eu.example' }),
    ], { relayTo: [] });
    assert.deepEqual(probeTargets(c, ctx).map((t) => `${t.region} ${formatSocketAddress(t.address)}`), ['us 10.1.0.2:15443', 'ap 10.2.0.2:15443']);
  });
});

describe('GatewayRouter', () => {
  const local: GatewayRoutes = { lookup: (n) => (n === 'web.default.node-a.eu.example' ? { host: '10.0.0.11', port: 15008 } : undefined) };
  const g1: SocketAddress = { host: '10.1.0.2', port: 15443 };
  const g2: SocketAddress = { host: '10.1.0.3', port: 15443 };
  const g3: SocketAddress = { host: '10.1.0.4', port: 15443 };
  const router = (state: Record<string, boolean | undefined>): GatewayRouter => {
    const r = new GatewayRouter(local, (region, a) => (region === 'us' ? state[formatSocketAddress(a)] : undefined));
    r.replaceRelays([{ region: 'us', trustDomain: 'us.example', gateways: [g1, g2, g3] }]);
    return r;
  };
  const NAME = 'web.default.node-b.us.example';

  const cases: Array<[string, Record<string, boolean | undefined>, SocketAddress]> = [
    ['nothing known: the first listed', {}, g1],
    ['a reachable gateway first, even listed later', { '10.1.0.2:15443': undefined, '10.1.0.3:15443': false, '10.1.0.4:15443': true }, g3],
    ['none reachable: the first not known unreachable', { '10.1.0.2:15443': false, '10.1.0.3:15443': undefined, '10.1.0.4:15443': false }, g2],
    ['all unreachable: the first listed (better than nothing)', { '10.1.0.2:15443': false, '10.1.0.3:15443': false, '10.1.0.4:15443': false }, g1],
  ];
  for (const [what, state, want] of cases) {
    it(`relay: ${what}`, () => assert.deepEqual(router(state).relay(NAME), { region: 'us', target: want }));
  }

  it('lookup is the local routes; relay only for well-formed names of a relayed trust domain', () => {
    const r = router({});
    assert.deepEqual(r.lookup('web.default.node-a.eu.example'), { host: '10.0.0.11', port: 15008 });
    assert.equal(r.lookup(NAME), undefined);
    assert.deepEqual(r.relay('WEB.default.node-b.US.example')?.region, 'us', 'names are case-insensitive');
    assert.equal(r.relay('web.default.node-b.ap.example'), undefined, 'not a relayed region');
    assert.equal(r.relay('us.example'), undefined, 'the trust domain itself');
    assert.equal(r.relay('evilus.example'), undefined, 'a suffix without the dot');
    assert.equal(r.relay('node-b.us.example'), undefined, 'not a mesh server name');
  });

  it('replaceRelays replaces the whole set', () => {
    const r = router({});
    r.replaceRelays([]);
    assert.equal(r.relay(NAME), undefined);
    assert.equal(r.relay('web.default.node-b.us.example'), undefined);
  });
});
