// withPaths: which regions may relay to which (one hop, B relays for C, B
// reaches C, B fresh and allowed by `via`, our link to B not cut), best RTT
// first, at most MAX_RELAYS; the direct path's measurements copied.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RELAYS, listed, withPaths, type PeerPathView } from './region-paths.js';
import type { LinkSummary, RemoteRegion } from '../mesh/mesh-config.js';

const remote = (region: string, over: Partial<RemoteRegion> = {}): RemoteRegion =>
  ({ region, trustDomain: `${region}.test`, gateway: `10.0.0.${region.length}:15443`, gateways: [`10.0.0.${region.length}:15443`], exportedServices: [], ageMs: 0, stale: false, ...over });
const up = (region: string, rttMs?: number): LinkSummary => ({ region, reachable: true, ...(rttMs !== undefined ? { rttMs } : {}), loss: 0 });
const down = (region: string): LinkSummary => ({ region, reachable: false, loss: 1 });

/** b and d both relay for c and reach it. */
const views: Record<string, PeerPathView> = {
  b: { relayFor: ['c'], links: [up('c', 30)] },
  d: { relayFor: ['c'], links: [up('c', 10)] },
};
const relaysOf = (out: RemoteRegion[], region: string): unknown => out.find((r) => r.region === region)!.relays;

describe('withPaths', () => {
  const cases: Array<{ name: string; remotes?: RemoteRegion[]; own?: LinkSummary[]; peer?: Record<string, PeerPathView>; via?: string[]; want: unknown }> = [
    { name: 'relays sorted by summed RTT', own: [down('c'), up('b', 20), up('d', 50)], want: [{ via: 'b', rttMs: 50 }, { via: 'd', rttMs: 60 }] },
    { name: 'unknown RTT after known ones', own: [up('b', 20)], want: [{ via: 'b', rttMs: 50 }, { via: 'd' }] },
    { name: 'no RTT at all: by name', own: [], want: [{ via: 'b' }, { via: 'd' }] },
    { name: 'only regions allowed by via', own: [up('b', 20), up('d', 1)], via: ['b'], want: [{ via: 'b', rttMs: 50 }] },
    { name: 'via empty: no relays', via: [], want: undefined },
    { name: 'a relay that does not serve c', peer: { b: { relayFor: ['x'], links: [up('c', 1)] } }, want: undefined },
    { name: 'a relay that does not reach c', peer: { b: { relayFor: ['c'], links: [down('c')] }, d: { relayFor: ['c'], links: [] } }, want: undefined },
    { name: 'a relay whose state we do not hold', peer: {}, want: undefined },
    { name: 'our link to the relay is cut', own: [down('b')], want: [{ via: 'd' }] },
    { name: 'a stale relay', remotes: [remote('b', { stale: true }), remote('c'), remote('d')], want: [{ via: 'd' }] },
    { name: 'an expired relay', remotes: [remote('b', { expired: true }), remote('c'), remote('d')], want: [{ via: 'd' }] },
    { name: 'a relay without gateways', remotes: [remote('b', { gateways: [], gateway: undefined }), remote('c'), remote('d')], want: [{ via: 'd' }] },
    { name: 'an expired destination gets no relays', remotes: [remote('b'), remote('c', { expired: true }), remote('d')], want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = withPaths(c.remotes ?? [remote('b'), remote('c'), remote('d')], c.own ?? [], (r) => (c.peer ?? views)[r], c.via ?? ['*']);
      assert.deepEqual(relaysOf(out, 'c'), c.want);
    });
  }

  it('never relays a region through itself', () => {
    const out = withPaths([remote('b'), remote('c')], [], () => ({ relayFor: ['b', 'c'], links: [up('b'), up('c')] }), ['*']);
    assert.deepEqual(relaysOf(out, 'b'), [{ via: 'c' }]);
    assert.deepEqual(relaysOf(out, 'c'), [{ via: 'b' }]);
  });

  it(`at most MAX_RELAYS (${MAX_RELAYS}), the best ones`, () => {
    const names = ['b1', 'b2', 'b3', 'b4'];
    const out = withPaths([...names.map((n) => remote(n)), remote('c')], names.map((n, i) => up(n, 40 - i * 10)), () => ({ relayFor: ['c'], links: [up('c', 5)] }), ['*']);
    assert.deepEqual(relaysOf(out, 'c'), [{ via: 'b4', rttMs: 15 }, { via: 'b3', rttMs: 25 }]);
  });

  it('copies the direct path: reachability, loss and RTT; nothing when unmeasured', () => {
    const out = withPaths([remote('b'), remote('c')], [up('b', 20), down('c')], () => undefined, ['*']);
    const b = out.find((r) => r.region === 'b')!;
    const c = out.find((r) => r.region === 'c')!;
    assert.deepEqual([b.reachable, b.rttMs, b.loss], [true, 20, 0]);
    assert.deepEqual([c.reachable, c.rttMs, c.loss], [false, undefined, 1]);
    const none = withPaths([remote('b')], [], () => undefined, ['*'])[0]!;
    assert.equal('reachable' in none, false);
    assert.equal('relays' in none, false);
  });

  it('keeps the rest of each region as it was', () => {
    const r = remote('b', { ageMs: 1234, exportedServices: [] });
    assert.deepEqual(withPaths([r], [], () => undefined, ['*']), [r]);
  });
});

describe('listed', () => {
  it('names or "*"', () => {
    assert.equal(listed(['*'], 'b'), true);
    assert.equal(listed(['b'], 'b'), true);
    assert.equal(listed(['d'], 'b'), false);
    assert.equal(listed([], 'b'), false);
  });
});
