// Pure rotation decisions as a table, plus properties of the sequence and of
// the SVID renewal time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { activeAuthority, nextSequence, planCaRotation, renewalDelayMs, type CaAuthorityRecord, type CaState, type RotationPolicy } from './ca-rotation.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const policy: RotationPolicy = { refreshHintSeconds: 300, prepublishFactor: 3, maxSvidTtlMs: HOUR, skewMs: MIN };
const rec = (id: string, activeFromMs: number, notBeforeMs: number, notAfterMs: number): CaAuthorityRecord => ({ id, certFile: `${id}.crt`, keyFile: `${id}.key`, publishedAtMs: Math.min(activeFromMs, notBeforeMs), activeFromMs, notBeforeMs, notAfterMs });
const state = (...authorities: CaAuthorityRecord[]): CaState => ({ version: 1, trustDomain: 'td', sequence: 1n, authorities });

test('planCaRotation: a table of moments in a root lifetime', () => {
  const A = rec('A', 0, 0, 30 * DAY);
  const B = rec('B', 20 * DAY + 15 * MIN, 20 * DAY, 50 * DAY);
  const cases: [string, CaState, number, string[]][] = [
    ['first start', state(), 0, ['bootstrap']],
    ['early in life', state(A), DAY, []],
    ['two thirds of life', state(A), 20 * DAY, ['prepare']],
    ['pending successor: no second prepare', state(A, B), 20 * DAY + MIN, []],
    ['successor active, old key still covers live SVIDs', state(A, B), 20 * DAY + 15 * MIN + HOUR, []],
    ['successor active, old SVIDs expired + skew', state(A, B), 20 * DAY + 15 * MIN + HOUR + MIN, ['remove:A']],
    ['every key expired', state(A), 31 * DAY, ['bootstrap', 'remove:A']],
  ];
  for (const [name, s, now, want] of cases) {
    const got = planCaRotation(s, now, policy).map((a) => (a.kind === 'remove' ? `remove:${a.id}` : a.kind));
    assert.deepEqual(got, want, name);
  }
  const [prep] = planCaRotation(state(A), 20 * DAY, policy);
  assert.equal(prep?.kind === 'prepare' && prep.activeFromMs, 20 * DAY + 3 * 300_000, 'prepublished 3x the refresh hint');
  assert.deepEqual(planCaRotation(state(A), DAY, policy, { rotateNow: true }).map((a) => a.kind), ['prepare']);
});

test('a short-lived root starts rotating early enough to prepublish and outlive its SVIDs', () => {
  const A = rec('A', 0, 0, 3 * HOUR);
  // lead = 15 min prepublish + 1 h max TTL + 1 min skew; two thirds (2 h) would be too late.
  assert.deepEqual(planCaRotation(state(A), 3 * HOUR - (15 + 60 + 1) * MIN - 1, policy), []);
  assert.equal(planCaRotation(state(A), 3 * HOUR - (15 + 60 + 1) * MIN, policy)[0]?.kind, 'prepare');
});

test('activeAuthority picks the latest activated, valid key', () => {
  const A = rec('A', 0, 0, 30 * DAY);
  const B = rec('B', 10 * DAY, 9 * DAY, 40 * DAY);
  assert.equal(activeAuthority(state(A, B), 9.5 * DAY)?.id, 'A');
  assert.equal(activeAuthority(state(A, B), 10 * DAY)?.id, 'B');
  assert.equal(activeAuthority(state(A), 30 * DAY), undefined);
});

test('property: nextSequence always grows', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (cur, now) => {
      assert.ok(nextSequence(cur, now) > cur);
    }),
    { numRuns: 300, interruptAfterTimeLimit: 3000 },
  );
});

test('property: renewal falls at half life +-10% of it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 5 * MIN, max: 30 * DAY }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (nb, life, r) => {
      const d = renewalDelayMs(nb, nb + life, () => r);
      assert.ok(d >= Math.floor(0.45 * life) && d <= Math.ceil(0.55 * life), `${d} for life ${life}`);
    }),
    { numRuns: 300, interruptAfterTimeLimit: 3000 },
  );
  assert.equal(renewalDelayMs(0, HOUR, () => 0.5), HOUR / 2);
  assert.equal(renewalDelayMs(new Date(0), new Date(HOUR), () => 0), 0.45 * HOUR);
});
