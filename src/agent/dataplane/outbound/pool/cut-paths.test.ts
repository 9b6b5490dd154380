// newlyCutDials: only regions that have just become unreachable, only their
// direct endpoints (relayed paths to them stay). cutVerdict: which of their
// sessions close at once, which must answer a ping first.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cutPingBoundMs, cutVerdict, newlyCutDials } from './cut-paths.js';
import type { DataplaneSnapshot, Endpoint } from '../../dataplane-snapshot.js';

const ep = (region: string, dial: string, via?: string): Endpoint => {
  const [host, port] = dial.split(':');
  return { region, dial: { host: host!, port: Number(port) }, weight: 1, ...(via ? { via } : {}) } as unknown as Endpoint;
};
const ENDPOINTS = [
  ep('us', '10.1.0.2:15443'), ep('us', '10.1.0.3:15443'), ep('us', '10.2.0.2:15443', 'ap'),
  ep('ap', '10.2.0.2:15443'), ep('sa', '10.3.0.2:15443'), ep('eu', '10.0.0.7:15008'),
];
/** A snapshot with the endpoints spread over two routes and ports; only what newlyCutDials reads. */
const snap = (unreachable?: string[]): DataplaneSnapshot => ({
  routes: new Map([
    ['catalog.shop.mesh', { ports: new Map([[80, ENDPOINTS.slice(0, 3)], [81, ENDPOINTS.slice(3)]]) }],
    ['ledger.shop.mesh', { ports: new Map([[80, [ep('sa', '10.3.0.9:15443')]]]) }],
  ]),
  ...(unreachable ? { unreachableRegions: new Set(unreachable) } : {}),
}) as unknown as DataplaneSnapshot;

describe('newlyCutDials', () => {
  const cases: Array<[string, string[] | undefined, string[] | undefined, string[]]> = [
    ['no previous snapshot, nothing unreachable', undefined, undefined, []],
    ['a region newly unreachable: its direct dials, not the relayed one', [], ['us'], ['10.1.0.2:15443', '10.1.0.3:15443']],
    ['the first snapshot already finds a region unreachable', undefined, ['sa'], ['10.3.0.2:15443', '10.3.0.9:15443']],
    ['a region that was already unreachable: nothing new', ['us'], ['us'], []],
    ['only the newly unreachable ones', ['us'], ['us', 'ap'], ['10.2.0.2:15443']],
    ['a region coming back cuts nothing', ['us'], [], []],
    ['an older snapshot without the field counts as none unreachable', undefined, ['ap'], ['10.2.0.2:15443']],
    ['a region with no endpoints', [], ['zz'], []],
  ];
  for (const [what, prev, next, want] of cases) {
    it(what, () => {
      const cut = newlyCutDials(prev === undefined ? undefined : snap(prev), snap(next));
      assert.deepEqual([...cut].sort(), want);
    });
  }
});

describe('cutVerdict', () => {
  const bound = cutPingBoundMs(100);
  it('the bound: 3 x RTT + 100 ms within 300 ms to 1 s', () => {
    assert.equal(bound, 400);
    assert.equal(cutPingBoundMs(10), 300);
    assert.equal(cutPingBoundMs(5000), 1000);
    assert.equal(cutPingBoundMs(undefined), 1000);
  });
  const cases: Array<[string, { connected: boolean; busyPingSentAt: number | undefined }, 'close' | 'ping']> = [
    ['still connecting: closed at once', { connected: false, busyPingSentAt: undefined }, 'close'],
    ['idle (no busy ping): must answer a ping', { connected: true, busyPingSentAt: undefined }, 'ping'],
    ['busy ping outstanding for less than the bound: must answer', { connected: true, busyPingSentAt: 10_000 - bound + 1 }, 'ping'],
    ['busy ping unanswered for the bound already: closed at once', { connected: true, busyPingSentAt: 10_000 - bound }, 'close'],
  ];
  for (const [what, entry, want] of cases) it(what, () => assert.equal(cutVerdict(entry, 10_000, bound), want));
});
