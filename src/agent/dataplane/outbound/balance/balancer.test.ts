// Balancer with a fake helper (records published pickers) and a fake clock: ejection
// and return, EWMA steering, locality and RTT order, weights, when it republishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../../core/seeded-random.js';
import { Balancer, type BalancerHelper } from './balancer.js';
import type { BalancedEndpoint, Picker } from './picker.js';
import { DEFAULT_OUTLIER } from './outlier-detector.js';


interface Ep extends BalancedEndpoint { readonly dial: string }
const ep = (key: string, region = 'eu', zone?: string, weight = 1): Ep => ({ key, region, weight, dial: `${key}:443`, ...(zone ? { zone } : {}) });

function harness(opts: { zone?: string; rtt?: Record<string, number> } = {}) {
  let now = 1_000_000;
  const rtt: Record<string, number> = { ...opts.rtt };
  const published: Picker<Ep>[] = [];
  const helper: BalancerHelper<Ep> = { updatePicker: (p) => published.push(p), now: () => now, rttMs: (r) => rtt[r] };
  const balancer = new Balancer<Ep>(helper, { region: 'eu', ...(opts.zone ? { zone: opts.zone } : {}) });
  const latest = (): Picker<Ep> => published[published.length - 1]!;
  const order = (): string[][] => latest().order().map((l) => l.map((e) => e.key));
  /** Picks n times with the latest picker, counting picks per key. */
  const share = (n: number, random: () => number): Record<string, number> => {
    const got: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = latest().pick({ random });
      if (r.kind === 'pick') got[r.endpoint.key] = (got[r.endpoint.key] ?? 0) + 1;
    }
    return got;
  };
  return { balancer, published, latest, order, share, rtt, advance: (ms: number) => void (now += ms), now: () => now };
}

test('publishes at once (no endpoint yet), then on every new endpoint set', () => {
  const h = harness();
  assert.equal(h.published.length, 1);
  const r = h.latest().pick({ random: Math.random });
  assert.equal(r.kind === 'none' && r.code, 'no_endpoint');
  h.balancer.setEndpoints([ep('a'), ep('b')]);
  assert.equal(h.published.length, 2);
  assert.deepEqual(h.order(), [[], ['a', 'b']]);
  const picked = h.latest().pick({ random: Math.random });
  assert.equal(picked.kind === 'pick' && picked.endpoint.dial.endsWith(':443'), true, "the caller's own endpoint type comes back");
});

test('3 consecutive connect failures on A: a picker without A; after the ejection A comes back', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('a'), ep('b'), ep('c')]);
  const before = h.published.length;
  for (let i = 0; i < 2; i++) h.balancer.start('a').end('connect');
  assert.equal(h.published.length, before, 'two failures: no new picker');
  h.balancer.start('a').end('connect');
  assert.equal(h.published.length, before + 1);
  assert.deepEqual(h.order(), [[], ['b', 'c']]);
  const random = mulberry32(7);
  assert.equal(h.share(200, random).a, undefined, 'A is never picked while ejected');
  assert.equal(h.balancer.nextTick(), h.now() + DEFAULT_OUTLIER.baseEjectionMs);

  h.balancer.start('b').end('ok');
  h.balancer.tick();
  assert.equal(h.published.length, before + 1, 'results and ticks before the expiry publish nothing');
  h.advance(DEFAULT_OUTLIER.baseEjectionMs);
  h.balancer.tick();
  assert.equal(h.published.length, before + 2);
  assert.deepEqual(h.order(), [[], ['a', 'b', 'c']]);
  assert.equal(h.balancer.nextTick(), undefined);
  h.balancer.tick();
  assert.equal(h.published.length, before + 2, 'nothing more to expire');
});

test('an expired ejection is also noticed by the next result, without a tick', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('a'), ep('b')]);
  for (let i = 0; i < 3; i++) h.balancer.report('a', '5xx');
  assert.deepEqual(h.order(), [[], ['b']]);
  h.advance(DEFAULT_OUTLIER.baseEjectionMs + 1);
  h.balancer.report('b', 'ok');
  assert.deepEqual(h.order(), [[], ['a', 'b']]);
});

test('two endpoints, one slow: at least 90% of 1000 picks go to the fast one, calls in flight included', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('fast'), ep('slow')]);
  const latency: Record<string, number> = { fast: 5, slow: 100 };
  // Warm up: one call each, so the estimates know which is which.
  for (const k of ['fast', 'slow']) {
    const c = h.balancer.start(k);
    h.advance(latency[k]!);
    c.end('ok');
  }
  // Closed loop on the fake clock: 4 picks per ms, each call ends after its endpoint's latency
  // (the fast one holds ~20 calls in flight, enough for its cost to pass the idle slow one now and then).
  const random = mulberry32(3);
  const running: { at: number; end: () => void }[] = [];
  const got: Record<string, number> = { fast: 0, slow: 0 };
  for (let i = 0; i < 1000; i++) {
    if (i % 4 === 0) {
      h.advance(1);
      for (const r of running.splice(0)) {
        if (r.at <= h.now()) r.end();
        else running.push(r);
      }
    }
    const p = h.latest().pick({ random });
    assert.equal(p.kind, 'pick');
    if (p.kind !== 'pick') continue;
    const key = p.endpoint.key;
    got[key]! += 1;
    const call = h.balancer.start(key);
    running.push({ at: h.now() + latency[key]!, end: () => call.end('ok') });
  }
  assert.ok(got.fast! >= 900, `fast got ${got.fast}, slow ${got.slow}`);
  assert.ok(got.slow! > 0, 'the slow one still gets the overflow when the fast one queues up');
});

test('a slow endpoint is re-probed once its estimate has decayed', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('fast'), ep('slow')]);
  for (const [k, ms] of [['fast', 10], ['slow', 200]] as const) {
    const c = h.balancer.start(k);
    h.advance(ms);
    c.end('ok');
  }
  const random = mulberry32(5);
  assert.deepEqual(h.share(50, random), { fast: 50 });
  // Only the fast one keeps getting samples; the slow one's 200 ms decays under 10 ms after tau * ln 20 (30 s).
  for (let s = 0; s < 40; s++) {
    h.advance(1000);
    const c = h.balancer.start('fast');
    h.advance(10);
    c.end('ok');
  }
  assert.ok((h.share(50, random).slow ?? 0) > 0, 'the slow one is tried again');
});

test('locality: same zone first, then region, then other regions by RTT; rttChanged republishes on a new order only', () => {
  const h = harness({ zone: 'eu-1', rtt: { us: 80, ap: 200 } });
  h.balancer.setEndpoints([ep('ap', 'ap'), ep('us', 'us'), ep('eu2', 'eu', 'eu-2'), ep('eu1', 'eu', 'eu-1')]);
  assert.deepEqual(h.order(), [['eu1'], ['eu2'], ['us'], ['ap']]);
  const n = h.published.length;
  h.rtt.us = 90;
  h.balancer.rttChanged();
  assert.equal(h.published.length, n, 'same order: no new picker');
  h.rtt.us = 300;
  h.balancer.rttChanged();
  assert.equal(h.published.length, n + 1);
  assert.deepEqual(h.order(), [['eu1'], ['eu2'], ['ap'], ['us']]);
  const random = mulberry32(9);
  assert.deepEqual(h.share(100, random), { eu1: 100 }, 'all picks stay in the zone while it is usable');
});

test('weights 3:1 on equal loads: about a 3:1 share', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('a', 'eu', undefined, 3), ep('b', 'eu', undefined, 1)]);
  const got = h.share(4000, mulberry32(11));
  const a = (got.a ?? 0) / 4000;
  assert.ok(a > 0.7 && a < 0.8, `a's share ${a}`);
});

test('a new endpoint set keeps the loads and ejections of endpoints that stay; a joining one starts at the median', () => {
  const h = harness();
  h.balancer.setEndpoints([ep('a'), ep('b'), ep('c')]);
  for (const [k, ms] of [['a', 10], ['b', 20], ['c', 90]] as const) {
    const c = h.balancer.start(k);
    h.advance(ms);
    c.end('ok');
  }
  for (let i = 0; i < 3; i++) h.balancer.report('c', 'reset');
  const t = h.now();
  h.balancer.setEndpoints([ep('a'), ep('b'), ep('c'), ep('d')]);
  assert.deepEqual(h.order(), [[], ['a', 'b', 'd']], 'c is still ejected');
  assert.equal(h.balancer.load('d')!.latencyMs(t), h.balancer.load('b')!.latencyMs(t), 'median of 10, 20 and 90 (decayed alike)');
  const inFlight = h.balancer.start('a');
  h.balancer.setEndpoints([ep('b')]);
  assert.equal(h.balancer.load('a'), undefined);
  inFlight.end('connect');
  assert.deepEqual(h.order(), [[], ['b']], 'a late result from a removed endpoint changes nothing');
  h.balancer.start('gone').end('connect');
});
