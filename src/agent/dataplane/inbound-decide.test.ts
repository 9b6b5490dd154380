import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideInbound, type InboundPeer } from './inbound-decide.js';
import type { Authorizer, DataplaneSnapshot, LocalWorkload } from './dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../identity/spiffe-id.js';

const eu = parseTrustDomain('eu.test');
const us = parseTrustDomain('us.test');
const wl = (name: string, address: string, service = name): LocalWorkload => ({ name, namespace: 'shop', service, spiffeId: SpiffeId.forWorkload(eu, 'shop', name), address });
const catalog = wl('catalog', '10.0.0.2');
const orders = wl('orders', '10.0.0.3');
const audit = wl('audit', '10.0.0.4');
const caller = SpiffeId.forWorkload(us, 'shop', 'frontend');

const authorizer: Authorizer = {
  authorize: (r) => {
    if (r.service.name === 'audit') throw new Error('policy store unavailable');
    return r.service.name === 'catalog' && r.port === 8080 && r.callerRegion === 'us'
      ? { kind: 'allow', policy: 'p', rule: 0 }
      : { kind: 'deny', reason: `no rule for ${r.service.name}:${r.port}`, policy: 'default' };
  },
  requiresL7: (s) => s.name === 'orders',
};
const snap = {
  localWorkloadsByAddress: new Map([catalog, orders, audit].map((w) => [w.address, w])),
  authorizer,
  regionOf: (td: string) => (td === 'us.test' ? 'us' : td === 'eu.test' ? 'eu' : undefined),
} as unknown as DataplaneSnapshot;
const peer = (sniWorkload: LocalWorkload): InboundPeer => ({ caller, sniWorkload, remoteAddress: '127.0.0.1' });

test('inbound phases map each failure to one status (table)', () => {
  const cases: { name: string; sni: LocalWorkload; method: unknown; authority: unknown; want: string | number }[] = [
    { name: 'allowed L4', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:8080', want: 'l4' },
    { name: 'L7 service', sni: orders, method: 'CONNECT', authority: '10.0.0.3:80', want: 'l7' },
    { name: 'not CONNECT', sni: catalog, method: 'GET', authority: '10.0.0.2:8080', want: 405 },
    { name: 'no authority', sni: catalog, method: 'CONNECT', authority: undefined, want: 400 },
    { name: 'bad authority', sni: catalog, method: 'CONNECT', authority: 'catalog', want: 400 },
    { name: 'port zero', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:0', want: 400 },
    { name: 'unknown address', sni: catalog, method: 'CONNECT', authority: '10.0.0.99:8080', want: 404 },
    { name: 'authority is another workload than the SNI', sni: catalog, method: 'CONNECT', authority: '10.0.0.3:80', want: 421 },
    { name: 'denied port', sni: catalog, method: 'CONNECT', authority: '10.0.0.2:9090', want: 403 },
    { name: 'authorizer throws', sni: audit, method: 'CONNECT', authority: '10.0.0.4:80', want: 500 },
  ];
  for (const c of cases) {
    const d = decideInbound(snap, peer(c.sni), c.method, c.authority);
    if (typeof c.want === 'string') assert.equal(d.kind, c.want, c.name);
    else assert.equal(d.kind === 'refuse' && d.status, c.want, `${c.name}: ${JSON.stringify(d)}`);
  }
  const deny = decideInbound(snap, peer(catalog), 'CONNECT', '10.0.0.2:9090');
  assert.deepEqual(deny.kind === 'refuse' && [deny.verdict, deny.reason, deny.policy], ['deny', 'no rule for catalog:9090', 'default']);
  const allow = decideInbound(snap, peer(catalog), 'CONNECT', '10.0.0.2:8080');
  assert.deepEqual(allow.kind === 'l4' && [allow.policy, allow.rule, allow.callerRegion, allow.service], ['p', 0, 'us', { namespace: 'shop', name: 'catalog' }]);
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
