// stats: medians, paired ratios and their guards against meaningless denominators.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addedRatio, median, medianOfRatios, ratio } from './stats.js';

describe('median', () => {
  const cases: [number[], number | null][] = [
    [[], null],
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[NaN, 5, Infinity, 1], 3],
  ];
  for (const [xs, want] of cases) it(`of [${xs.join(', ')}] is ${want}`, () => assert.equal(median(xs), want));
});

describe('ratio', () => {
  it('divides', () => assert.deepEqual(ratio(3, 2), { kind: 'ok', value: 1.5 }));
  const undefinedCases: [string, number | null, number | null][] = [
    ['zero denominator', 1, 0],
    ['negative denominator', 1, -0.2],
    ['missing numerator', null, 1],
    ['NaN', NaN, 1],
  ];
  for (const [what, n, d] of undefinedCases) it(`is undefined for a ${what}`, () => assert.equal(ratio(n, d).kind, 'undefined'));
});

describe('medianOfRatios', () => {
  it('takes the median of the rounds that have a ratio and says why others were dropped', () => {
    const r = medianOfRatios([ratio(2, 1), ratio(1, 0), ratio(3, 1), ratio(5, 1)]);
    assert.equal(r.value, 3);
    assert.deepEqual(r.rounds, [2, null, 3, 5]);
    assert.match(r.why ?? '', /round 2: denominator is 0\.000/);
  });
  it('is null when no round has a ratio', () => assert.equal(medianOfRatios([ratio(1, 0)]).value, null));
});

describe('addedRatio', () => {
  const cases: [string, number, number, number, number | null][] = [
    ['adds half of what the reference adds', 1.5, 2, 1, 0.5],
    ['adds more than the reference', 4, 2, 1, 3],
    ['reference adds nothing: undefined', 1.5, 1, 1, null],
    ['reference faster than direct: undefined', 1.5, 0.9, 1, null],
  ];
  for (const [what, x, ref, direct, want] of cases) {
    it(what, () => {
      const r = addedRatio(x, ref, direct);
      assert.equal(r.kind === 'ok' ? r.value : null, want);
    });
  }
});
