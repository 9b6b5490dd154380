import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { orderEndpoints } from './endpoint-picker.js';
import type { Endpoint } from './dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../identity/spiffe-id.js';

const td = parseTrustDomain('eu.test');
const ep = (name: string, region: string): Endpoint => ({
  spiffeId: SpiffeId.forWorkload(td, 'shop', name),
  sni: `${name}.shop.n.eu.test`,
  dial: { host: '127.0.0.1', port: 1 },
  authority: `10.0.0.1:80`,
  region,
  weight: 1,
});
const names = (es: Endpoint[]): string[] => es.map((e) => e.sni.split('.')[0]!);

test('endpoint order: round robin within the first region, other regions after in order', () => {
  const eps = [ep('a', 'eu'), ep('b', 'eu'), ep('x', 'us'), ep('c', 'eu'), ep('y', 'ap')];
  const cases: [number, string[]][] = [
    [0, ['a', 'b', 'c', 'x', 'y']],
    [1, ['b', 'c', 'a', 'x', 'y']],
    [2, ['c', 'a', 'b', 'x', 'y']],
    [3, ['a', 'b', 'c', 'x', 'y']],
    [-1, ['c', 'a', 'b', 'x', 'y']],
  ];
  for (const [turn, want] of cases) assert.deepEqual(names(orderEndpoints(eps, turn)), want, `turn ${turn}`);
  assert.deepEqual(orderEndpoints([], 5), []);
  assert.deepEqual(names(orderEndpoints([ep('solo', 'us')], 7)), ['solo']);
});

test('endpoint order is a permutation whose head is always in the first region (property)', () => {
  const arb = fc.array(fc.record({ name: fc.stringMatching(/^[a-z]{1,5}$/), region: fc.constantFrom('eu', 'us', 'ap') }), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(arb, fc.integer(), (spec, turn) => {
      const eps = spec.map((s, i) => ep(`${s.name}${i}`, s.region));
      const out = orderEndpoints(eps, turn);
      assert.equal(out.length, eps.length);
      assert.deepEqual(new Set(out), new Set(eps));
      assert.equal(out[0]!.region, eps[0]!.region);
      // Same-region endpoints come before all others.
      const firstFar = out.findIndex((e) => e.region !== eps[0]!.region);
      if (firstFar >= 0) assert.ok(out.slice(firstFar).every((e) => e.region !== eps[0]!.region));
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 500 },
  );
});
