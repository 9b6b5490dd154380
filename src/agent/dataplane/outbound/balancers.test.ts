// Balancers over snapshots: slow start of a path that comes back runs from
// when the snapshot said so, not from the next pick, so traffic that resumes
// after an idle spell finds a long-healed path at its full share.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Balancers } from './balancers.js';
import type { OutboundCall } from './call.js';
import type { DataplaneSnapshot, Endpoint } from '../dataplane-snapshot.js';
import { DEFAULT_TRAFFIC } from '../../../policy/traffic-policy.js';
import { SpiffeId } from '../../../identity/spiffe-id.js';
import { mulberry32 } from '../../../core/seeded-random.js';
import { SLOW_START_MS } from './balance/path-recovery.js';

const endpoint = (region: string, n: number): Endpoint => ({
  spiffeId: SpiffeId.parse(`spiffe://${region}.mesh/ns/shop/sa/payments`),
  sni: 'payments',
  dial: { host: `127.0.${n}.1`, port: 15443 },
  authority: `10.0.${n}.1:8080`,
  region,
  weight: 1,
});

function fixture() {
  let now = 1_000_000;
  let unreachable: ReadonlySet<string> = new Set();
  const endpoints = [endpoint('us', 1), endpoint('ap', 2)];
  const snapshot = { region: 'eu' } as unknown as DataplaneSnapshot;
  const balancers = new Balancers({
    now: () => now,
    rttMs: (path) => ({ us: 100, ap: 200 })[path],
    unreachableRegions: () => unreachable,
    random: mulberry32(7),
  });
  const call = { host: 'payments.shop.mesh', port: 80, endpoints, snapshot, traffic: DEFAULT_TRAFFIC, workload: undefined } as unknown as OutboundCall;
  const picks = (n: number): Record<string, number> => {
    const by: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const p = balancers.pick(call);
      assert.equal(p.kind, 'pick');
      if (p.kind === 'pick') {
        by[p.endpoint.region] = (by[p.endpoint.region] ?? 0) + 1;
        p.start().end('ok');
      }
    }
    return by;
  };
  return {
    picks,
    pick: () => balancers.pick(call),
    advance: (ms: number) => void (now += ms),
    /** A new snapshot: the data plane tells the balancers at once. */
    swap: (cut: string[]) => {
      unreachable = new Set(cut);
      balancers.observeRegions();
    },
  };
}

describe('Balancers: slow start follows the snapshot', () => {
  it('a path healed during an idle spell takes its full share when traffic resumes', () => {
    const f = fixture();
    assert.deepEqual(f.picks(20), { us: 20 });
    f.swap(['us']);
    assert.deepEqual(f.picks(20), { ap: 20 });
    f.advance(1000);
    f.swap([]);
    // No calls for longer than the slow start window.
    f.advance(SLOW_START_MS + 1000);
    assert.deepEqual(f.picks(50), { us: 50 });
  });

  it('a path healed just now starts with a small share, the rest stays on the next region', () => {
    const f = fixture();
    f.picks(5);
    f.swap(['us']);
    f.picks(5);
    f.swap([]);
    f.advance(10);
    const by = f.picks(200);
    assert.ok((by.us ?? 0) > 0 && (by.us ?? 0) < 60, `us took ${by.us} of 200 picks right after it came back`);
    assert.ok((by.ap ?? 0) > 140);
  });
});

describe('Balancers: standby endpoints', () => {
  it('a pick in another region names the next region\'s endpoint as standby; none past it when that one is cut', () => {
    const f = fixture();
    const p = f.pick();
    assert.equal(p.kind === 'pick' && p.endpoint.region, 'us');
    assert.deepEqual(p.kind === 'pick' && p.standby.map((e) => e.region), ['ap']);
    f.swap(['us']);
    const q = f.pick();
    assert.equal(q.kind === 'pick' && q.endpoint.region, 'ap');
    assert.deepEqual(q.kind === 'pick' && q.standby.map((e) => e.region), [], 'the cut direct path to us is no standby');
  });
});
