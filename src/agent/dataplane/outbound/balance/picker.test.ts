// Picker: locality levels (zone, region, other regions by RTT), ejected and drained
// endpoints left out, fall-through, P2C by weight and cost, with a seeded random.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../../core/seeded-random.js';
import fc from 'fast-check';
import { buildPicker, type BalancedEndpoint, type LoadView, type PickerContext } from './picker.js';


const ep = (key: string, region: string, zone?: string, weight = 1): BalancedEndpoint => ({ key, region, weight, ...(zone ? { zone } : {}) });
const flat = { cost: () => 1 };

function ctx(over: Partial<PickerContext> & { costs?: Record<string, number> } = {}): PickerContext {
  const costs = over.costs ?? {};
  return {
    region: 'eu',
    zone: 'eu-1',
    rttMs: () => undefined,
    ejected: () => false,
    loads: (k): LoadView => ({ cost: () => costs[k] ?? 1 }),
    now: () => 0,
    ...over,
  };
}
const keys = (levels: readonly (readonly BalancedEndpoint[])[]): string[][] => levels.map((l) => l.map((e) => e.key));

test('levels: same zone, same region, other regions by RTT (unknown last, ties by name)', () => {
  const eps = [
    ep('eu1-a', 'eu', 'eu-1'), ep('eu2-a', 'eu', 'eu-2'), ep('eu-nozone', 'eu'), ep('eu1-b', 'eu', 'eu-1'),
    ep('us-a', 'us', 'eu-1'), ep('ap-a', 'ap'), ep('sa-a', 'sa'), ep('af-a', 'af'), ep('us-b', 'us'), ep('zz-a', 'zz'),
  ];
  const rtt: Record<string, number> = { us: 80, ap: 200, zz: 80 };
  const cases: { name: string; c: Partial<PickerContext>; want: string[][] }[] = [
    {
      name: 'caller with a zone',
      c: { rttMs: (r) => rtt[r] },
      want: [['eu1-a', 'eu1-b'], ['eu2-a', 'eu-nozone'], ['us-a', 'us-b'], ['zz-a'], ['ap-a'], ['af-a'], ['sa-a']],
    },
    {
      name: 'caller without a zone: no zone level, the region holds all',
      c: { zone: undefined, rttMs: (r) => rtt[r] },
      want: [[], ['eu1-a', 'eu2-a', 'eu-nozone', 'eu1-b'], ['us-a', 'us-b'], ['zz-a'], ['ap-a'], ['af-a'], ['sa-a']],
    },
    {
      name: 'no RTT known: other regions by name',
      c: {},
      want: [['eu1-a', 'eu1-b'], ['eu2-a', 'eu-nozone'], ['af-a'], ['ap-a'], ['sa-a'], ['us-a', 'us-b'], ['zz-a']],
    },
    {
      name: 'NaN and negative RTTs count as unknown',
      c: { rttMs: (r) => ({ us: -1, ap: Number.NaN, sa: 5 })[r] },
      want: [['eu1-a', 'eu1-b'], ['eu2-a', 'eu-nozone'], ['sa-a'], ['af-a'], ['ap-a'], ['us-a', 'us-b'], ['zz-a']],
    },
    {
      name: 'ejected endpoints are left out; a region with none left has no level',
      c: { ejected: (k) => k === 'eu1-a' || k === 'ap-a' || k === 'us-b', rttMs: (r) => rtt[r] },
      want: [['eu1-b'], ['eu2-a', 'eu-nozone'], ['us-a'], ['zz-a'], ['af-a'], ['sa-a']],
    },
    {
      name: 'stale regions come after every fresh one, whatever their RTT (known or not)',
      c: { rttMs: (r) => rtt[r], demoted: (r) => r === 'us' || r === 'af' },
      want: [['eu1-a', 'eu1-b'], ['eu2-a', 'eu-nozone'], ['zz-a'], ['ap-a'], ['sa-a'], ['us-a', 'us-b'], ['af-a']],
    },
    {
      name: 'caller in a region with no endpoint',
      c: { region: 'xx', zone: 'eu-1', rttMs: (r) => rtt[r] },
      want: [[], [], ['us-a', 'us-b'], ['zz-a'], ['ap-a'], ['af-a'], ['eu1-a', 'eu2-a', 'eu-nozone', 'eu1-b'], ['sa-a']],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(keys(buildPicker(eps, ctx(c.c)).order()), c.want, c.name);
  }
});

test('pick: the first level with a usable endpoint, falling through on ejection and exclusion', () => {
  const eps = [ep('z', 'eu', 'eu-1'), ep('r1', 'eu', 'eu-2'), ep('r2', 'eu', 'eu-3'), ep('us', 'us'), ep('w0', 'eu', 'eu-1', 0)];
  const random = mulberry32(1);
  const cases: { name: string; c?: Partial<PickerContext>; exclude?: string[]; want: string[]; level: number }[] = [
    { name: 'same zone first', want: ['z'], level: 0 },
    { name: 'zone endpoint ejected: same region', c: { ejected: (k) => k === 'z' }, want: ['r1', 'r2'], level: 1 },
    { name: 'zone endpoint already tried: same region', exclude: ['z'], want: ['r1', 'r2'], level: 1 },
    { name: 'one of the region tried: the other', exclude: ['z', 'r1'], want: ['r2'], level: 1 },
    { name: 'the whole region tried: other regions', exclude: ['z', 'r1', 'r2'], want: ['us'], level: 2 },
    { name: 'ejected and tried together', c: { ejected: (k) => k.startsWith('r') }, exclude: ['z'], want: ['us'], level: 2 },
  ];
  for (const c of cases) {
    const p = buildPicker(eps, ctx(c.c));
    for (let i = 0; i < 20; i++) {
      const r = p.pick({ random, ...(c.exclude ? { exclude: new Set(c.exclude) } : {}) });
      assert.equal(r.kind, 'pick', c.name);
      if (r.kind !== 'pick') continue;
      assert.ok(c.want.includes(r.endpoint.key), `${c.name}: got ${r.endpoint.key}`);
      assert.equal(r.level, c.level, c.name);
      assert.notEqual(r.endpoint.key, 'w0', 'weight 0 drains an endpoint');
    }
  }
});

test('pick: none, with a stable code and a reason that says why', () => {
  const random = mulberry32(2);
  const cases: { name: string; eps: BalancedEndpoint[]; c?: Partial<PickerContext>; exclude?: string[]; reason: RegExp }[] = [
    { name: 'no endpoints', eps: [], reason: /0 endpoint\(s\)/ },
    { name: 'all ejected', eps: [ep('a', 'eu'), ep('b', 'us')], c: { ejected: () => true }, reason: /2 endpoint\(s\), 2 ejected as outliers, 0 with weight 0$/ },
    { name: 'all drained', eps: [ep('a', 'eu', undefined, 0), ep('b', 'eu', undefined, Number.NaN)], reason: /2 with weight 0/ },
    { name: 'all tried', eps: [ep('a', 'eu'), ep('b', 'us')], exclude: ['a', 'b'], reason: /2 already tried by this call/ },
  ];
  for (const c of cases) {
    const r = buildPicker(c.eps, ctx(c.c)).pick({ random, ...(c.exclude ? { exclude: new Set(c.exclude) } : {}) });
    assert.equal(r.kind, 'none', c.name);
    if (r.kind === 'none') {
      assert.equal(r.code, 'no_endpoint');
      assert.match(r.reason, c.reason, c.name);
    }
  }
});

test('P2C: of the two drawn the lower cost wins; on equal cost the first drawn', () => {
  const eps = [ep('a', 'eu'), ep('b', 'eu')];
  // With weights 1:1, random 0.1 draws a first (then b), 0.9 draws b first (then a).
  const cases: { costs: Record<string, number>; first: number; want: string }[] = [
    { costs: { a: 5, b: 1 }, first: 0.1, want: 'b' },
    { costs: { a: 5, b: 1 }, first: 0.9, want: 'b' },
    { costs: { a: 1, b: 5 }, first: 0.9, want: 'a' },
    { costs: { a: 2, b: 2 }, first: 0.1, want: 'a' },
    { costs: { a: 2, b: 2 }, first: 0.9, want: 'b' },
  ];
  for (const c of cases) {
    const seq = [c.first, 0.5];
    const r = buildPicker(eps, ctx({ zone: 'none', costs: c.costs })).pick({ random: () => seq.shift() ?? 0.5 });
    assert.equal(r.kind === 'pick' && r.endpoint.key, c.want, JSON.stringify(c));
  }
  const solo = buildPicker([ep('s', 'us')], ctx()).pick({ random: () => assert.fail('one endpoint needs no draw') });
  assert.equal(solo.kind === 'pick' && solo.endpoint.key, 's');
});

test('P2C on equal loads: shares follow the weights (3:1, and 1:2:1)', () => {
  const random = mulberry32(42);
  const cases: { eps: BalancedEndpoint[]; want: Record<string, number> }[] = [
    { eps: [ep('a', 'eu', undefined, 3), ep('b', 'eu', undefined, 1)], want: { a: 0.75, b: 0.25 } },
    { eps: [ep('a', 'eu', undefined, 1), ep('b', 'eu', undefined, 2), ep('c', 'eu', undefined, 1)], want: { a: 0.25, b: 0.5, c: 0.25 } },
  ];
  const picks = 4000;
  for (const c of cases) {
    const p = buildPicker(c.eps, ctx({ loads: () => flat }));
    const got: Record<string, number> = {};
    for (let i = 0; i < picks; i++) {
      const r = p.pick({ random });
      if (r.kind === 'pick') got[r.endpoint.key] = (got[r.endpoint.key] ?? 0) + 1;
    }
    for (const [k, share] of Object.entries(c.want)) {
      const s = (got[k] ?? 0) / picks;
      assert.ok(Math.abs(s - share) < 0.05, `${k}: share ${s}, want ${share} +- 0.05`);
    }
  }
});

test('P2C always compares two distinct endpoints of the chosen level, never an excluded one (property)', () => {
  const arb = fc.record({
    weights: fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 2, maxLength: 12 }),
    draws: fc.array(fc.double({ min: 0, max: 0.9999999, noNaN: true }), { minLength: 2, maxLength: 2 }),
    excluded: fc.array(fc.nat(11), { maxLength: 4 }),
  });
  fc.assert(
    fc.property(arb, ({ weights, draws, excluded }) => {
      const eps = weights.map((w, i) => ep(`e${i}`, 'eu', undefined, w));
      const exclude = new Set(excluded.map((i) => `e${i}`));
      const looked: string[] = [];
      const p = buildPicker(eps, ctx({ loads: (k) => (looked.push(k), flat) }));
      const seq = [...draws];
      const r = p.pick({ random: () => seq.shift() ?? 0, exclude });
      const left = eps.filter((e) => !exclude.has(e.key));
      if (left.length === 0) return assert.equal(r.kind, 'none');
      assert.equal(r.kind, 'pick');
      if (r.kind !== 'pick') return;
      assert.ok(!exclude.has(r.endpoint.key));
      if (left.length === 1) return assert.equal(r.endpoint.key, left[0]!.key);
      assert.equal(looked.length, 2);
      assert.notEqual(looked[0], looked[1]);
      assert.ok(looked.every((k) => !exclude.has(k)));
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 500 },
  );
});

test('the picker is a snapshot: later changes to the set it was built from do not move it', () => {
  const eps = [ep('a', 'eu', 'eu-1'), ep('b', 'eu')];
  let ejectedNow = false;
  const p = buildPicker(eps, ctx({ ejected: () => ejectedNow }));
  eps.push(ep('c', 'eu', 'eu-1'));
  ejectedNow = true;
  assert.deepEqual(keys(p.order()), [['a'], ['b']]);
});
