import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideInbound, type InboundPeer } from './decide.js';
import type { Authorizer, DataplaneSnapshot, LocalWorkload, WorkloadPort } from '../dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../../identity/spiffe-id.js';

const eu = parseTrustDomain('eu.test');
const us = parseTrustDomain('us.test');
/** ports: target port -> [Service port, protocol] */
const wl = (name: string, address: string, ports: Record<number, [number, WorkloadPort['protocol']]>): LocalWorkload => ({
  name,
  namespace: 'shop',
  service: name,
  spiffeId: SpiffeId.forWorkload(eu, 'shop', name),
  address,
  ports: new Map(Object.entries(ports).map(([t, [servicePort, protocol]]) => [Number(t), { servicePort, protocol }])),
});
// catalog: Service port 80 -> target 8080 (tcp), 9090 -> 9090 (tcp); orders: 80 -> 8000 (http).
const catalog = wl('catalog', '10.0.0.2', { 8080: [80, 'tcp'], 9090: [9090, 'tcp'] });
const orders = wl('orders', '10.0.0.3', { 8000: [80, 'http'] });
const audit = wl('audit', '10.0.0.4', { 80: [80, 'tcp'] });
const caller = SpiffeId.forWorkload(us, 'shop', 'frontend');

const authorizer: Authorizer = {
  authorize: (r) => {
    if (r.service.name === 'audit') throw new Error('policy store unavailable');
    // Policies name Service ports: 80, never the target port 8080.
    return r.service.name === 'catalog' && r.port === 80 && r.callerRegion === 'us'
      ? { kind: 'allow', policy: 'p', rule: 0 }
      : { kind: 'deny', reason: `no rule for ${r.service.name}:${r.port}`, policy: 'default' };
  },
};
const snap = {
  localWorkloadsByAddress: new Map([catalog, orders, audit].map((w) => [w.address, w])),
  authorizer,
  regionOf: (td: string) => (td === 'us.test' ? 'us' : td === 'eu.test' ? 'eu' : undefined),
} as unknown as DataplaneSnapshot;
const peer = (sniWorkload: LocalWorkload): InboundPeer => ({ caller, sniWorkload, remoteAddress: '127.0.0.1' });

test('inbound phases map each failure to one status (table)', () => {
  const cases: { name: string; sni: LocalWorkload; method: unknown; authority: unknown; want: 'l4' | 'l7' | 'l7-request' | [number, string] }[] = [
    { name: 'allowed L4 (tcp port)', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:8080', want: 'l4' },
    { name: 'http port: L7, whatever the policies say', sni: orders, method: 'CONNECT', authority: '10.0.0.3:8000', want: 'l7' },
    { name: 'an HTTP request to a tcp port', sni: catalog, method: 'GET', authority: '10.0.0.2:8080', want: [405, 'not_connect'] },
    { name: 'an HTTP request to an http port: one L7 request', sni: orders, method: 'POST', authority: '10.0.0.3:8000', want: 'l7-request' },
    { name: 'no method', sni: catalog, method: undefined, authority: '10.0.0.2:8080', want: [405, 'not_connect'] },
    { name: 'no authority', sni: catalog, method: 'CONNECT', authority: undefined, want: [400, 'no_authority'] },
    { name: 'bad authority', sni: catalog, method: 'CONNECT', authority: 'catalog', want: [400, 'bad_authority'] },
    { name: 'port zero', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:0', want: [400, 'bad_authority'] },
    { name: 'unknown address', sni: catalog, method: 'CONNECT', authority: '10.0.0.99:8080', want: [404, 'no_workload'] },
    { name: 'authority is another workload than the SNI', sni: catalog, method: 'CONNECT', authority: '10.0.0.3:8000', want: [421, 'misdirected'] },
    { name: 'declared port, denied by policy', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:9090', want: [403, 'policy_denied'] },
    { name: 'undeclared port (a stats port)', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:8081', want: [403, 'undeclared_port'] },
    { name: 'the Service port is not a target port', sni: orders, method: 'CONNECT', authority: '10.0.0.3:80', want: [403, 'undeclared_port'] },
    { name: 'authorizer throws', sni: audit, method: 'CONNECT', authority: '10.0.0.4:80', want: [500, 'authorizer_failed'] },
  ];
  for (const c of cases) {
    const d = decideInbound(snap, peer(c.sni), c.method, c.authority);
    if (typeof c.want === 'string') assert.equal(d.kind, c.want, c.name);
    else assert.deepEqual(d.kind === 'refuse' && [d.status, d.code], c.want, `${c.name}: ${JSON.stringify(d)}`);
  }
  const deny = decideInbound(snap, peer(catalog), 'CONNECT', '10.0.0.2:9090');
  assert.deepEqual(deny.kind === 'refuse' && [deny.verdict, deny.reason, deny.policy], ['deny', 'no rule for catalog:9090', 'default']);
  const allow = decideInbound(snap, peer(catalog), 'CONNECT', '10.0.0.2:8080');
  assert.deepEqual(allow.kind === 'l4' && [allow.policy, allow.rule, allow.callerRegion, allow.service, allow.port, allow.servicePort], ['p', 0, 'us', { namespace: 'shop', name: 'catalog' }, 8080, 80]);
  const undeclared = decideInbound(snap, peer(catalog), 'CONNECT', '10.0.0.2:8081');
  assert.deepEqual(undeclared.kind === 'refuse' && [undeclared.verdict, undeclared.reason, undeclared.target?.service], [
    'deny',
    'port 8081 of 10.0.0.2 is not a target port of Service shop/catalog (declared: 8080, 9090)',
    { namespace: 'shop', name: 'catalog' },
  ]);
  const l7 = decideInbound(snap, peer(orders), 'CONNECT', '10.0.0.3:8000');
  assert.deepEqual(l7.kind === 'l7' && [l7.port, l7.servicePort], [8000, 80]);
});

test('the decision never throws, whatever the peer sends (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.constant('CONNECT'), fc.constant(undefined)), fc.oneof(fc.string(), fc.constant('10.0.0.2:8080'), fc.constant(undefined), fc.integer()), (method, authority) => {
      const d = decideInbound(snap, peer(catalog), method, authority);
      assert.ok(['l4', 'l7', 'refuse'].includes(d.kind));
      if (d.kind === 'refuse') assert.ok(d.status >= 400 && d.status < 600);
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 1000 },
  );
});
