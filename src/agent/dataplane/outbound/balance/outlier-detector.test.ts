// OutlierDetector: consecutive failures eject at once, ejections grow and decay,
// the cap (share of the set, never the last endpoint), lazy expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OUTLIER, OutlierDetector, type CallResult, type OutlierOptions } from './outlier-detector.js';

const opts: OutlierOptions = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 2_500, maxEjectedPercent: 50 };

/** [time, key, result]: each step's `changed` is recorded, then the ejected set is read at `checkAt`. */
type Step = [number, string, CallResult];

function run(keys: string[], steps: Step[], options = opts): { changed: number[]; detector: OutlierDetector } {
  const d = new OutlierDetector(options);
  d.setEndpoints(keys);
  const changed: number[] = [];
  steps.forEach(([t, k, r], i) => {
    if (d.report(k, r, t).changed) changed.push(i);
  });
  return { changed, detector: d };
}
const ejectedAt = (d: OutlierDetector, keys: string[], now: number): string[] => keys.filter((k) => d.isEjected(k, now));

test('ejection decisions, as a table of result sequences', () => {
  const abcd = ['a', 'b', 'c', 'd'];
  const cases: { name: string; keys?: string[]; steps: Step[]; options?: OutlierOptions; changed: number[]; at: number; ejected: string[] }[] = [
    { name: 'three connect failures in a row eject on the third', steps: [[0, 'a', 'connect'], [1, 'a', 'connect'], [2, 'a', 'connect']], changed: [2], at: 2, ejected: ['a'] },
    { name: 'kinds count together', steps: [[0, 'a', 'reset'], [1, 'a', '5xx'], [2, 'a', 'connect']], changed: [2], at: 3, ejected: ['a'] },
    { name: 'a success resets the count', steps: [[0, 'a', 'connect'], [1, 'a', 'connect'], [2, 'a', 'ok'], [3, 'a', 'connect'], [4, 'a', 'connect']], changed: [], at: 5, ejected: [] },
    { name: 'failures of other endpoints do not count', steps: [[0, 'a', 'connect'], [1, 'b', 'connect'], [2, 'a', 'connect'], [3, 'b', 'connect']], changed: [], at: 4, ejected: [] },
    { name: 'the first ejection lasts baseEjectionMs', steps: [[0, 'a', '5xx'], [0, 'a', '5xx'], [0, 'a', '5xx']], changed: [2], at: 1_000, ejected: [] },
    { name: '... and not less', steps: [[0, 'a', '5xx'], [0, 'a', '5xx'], [0, 'a', '5xx']], changed: [2], at: 999, ejected: ['a'] },
    {
      name: 'probation: back from ejection, one failure ejects again, for 2 x base',
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [1_000, 'a', 'connect']],
      changed: [2, 3], at: 2_999, ejected: ['a'],
    },
    {
      name: 'the third ejection is capped at maxEjectionMs (3 x base = 3 s > 2.5 s)',
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [1_000, 'a', 'connect'], [3_000, 'a', 'connect']],
      changed: [2, 3, 4], at: 5_500, ejected: [],
    },
    {
      name: 'a success during probation clears it: three failures again',
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [1_000, 'a', 'ok'], [1_001, 'a', 'connect'], [1_002, 'a', 'connect']],
      changed: [2], at: 1_003, ejected: [],
    },
    {
      name: 'failures reported while ejected (calls that were in flight) are ignored',
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [10, 'a', 'connect'], [20, 'a', 'reset']],
      changed: [2], at: 1_000, ejected: [],
    },
    {
      name: 'the ejection count decays: one step per base of good standing after the ejection ends',
      // Ejected at 0 (n=1, until 1 s), again at 1 s (n=2, until 3 s); 2 s of good standing after 3 s: n back to 0, so
      // the ejection at 5 s lasts 1 x base.
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [1_000, 'a', 'connect'], [5_000, 'a', 'connect']],
      changed: [2, 3, 4], at: 6_000, ejected: [],
    },
    { name: 'a result for an unknown key is ignored', steps: [[0, 'z', 'connect'], [0, 'z', 'connect'], [0, 'z', 'connect']], changed: [], at: 0, ejected: [] },
    { name: 'a set of one is never ejected', keys: ['a'], steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect']], changed: [], at: 0, ejected: [] },
    {
      name: 'set of two: one may go, never the last',
      keys: ['a', 'b'],
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'b', 'connect'], [0, 'b', 'connect'], [0, 'b', 'connect']],
      changed: [2], at: 0, ejected: ['a'],
    },
    {
      name: 'set of four at 50%: two at once, not a third',
      keys: abcd,
      steps: ['a', 'b', 'c'].flatMap((k): Step[] => [[0, k, 'reset'], [0, k, 'reset'], [0, k, 'reset']]),
      changed: [2, 5], at: 0, ejected: ['a', 'b'],
    },
    {
      name: 'capped: the next failure after a slot frees ejects it (its count stayed at the threshold)',
      keys: abcd,
      steps: [...['a', 'b', 'c'].flatMap((k): Step[] => [[0, k, 'reset'], [0, k, 'reset'], [0, k, 'reset']]), [1_000, 'c', 'reset']],
      changed: [2, 5, 9], at: 1_000, ejected: ['c'],
    },
    {
      name: 'at least one may go even when the share rounds to zero (10% of 3)',
      keys: ['a', 'b', 'c'],
      options: { ...opts, maxEjectedPercent: 10 },
      steps: ['a', 'b'].flatMap((k): Step[] => [[0, k, '5xx'], [0, k, '5xx'], [0, k, '5xx']]),
      changed: [2], at: 0, ejected: ['a'],
    },
    {
      name: 'maxEjectedPercent 0 turns ejection off',
      keys: abcd,
      options: { ...opts, maxEjectedPercent: 0 },
      steps: [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect']],
      changed: [], at: 0, ejected: [],
    },
  ];
  for (const c of cases) {
    const keys = c.keys ?? ['a', 'b', 'c'];
    const { changed, detector } = run(keys, c.steps, c.options);
    assert.deepEqual(changed, c.changed, `${c.name}: steps that changed the ejected set`);
    assert.deepEqual(ejectedAt(detector, keys, c.at), c.ejected, `${c.name}: ejected at ${c.at}`);
  }
});

test('nextExpiry: the earliest ejection running at now, lazily', () => {
  const { detector: d } = run(['a', 'b', 'c', 'd'], [
    [0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'],
    [500, 'b', 'connect'], [500, 'b', 'connect'], [500, 'b', 'connect'],
  ]);
  assert.equal(d.nextExpiry(0), 1_000);
  assert.equal(d.nextExpiry(1_000), 1_500, "a's ejection is over at 1 s");
  assert.equal(d.nextExpiry(1_500), undefined);
});

test('setEndpoints forgets removed endpoints and keeps the state of the others', () => {
  const { detector: d } = run(['a', 'b', 'c'], [[0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'a', 'connect'], [0, 'b', 'connect'], [0, 'b', 'connect']]);
  d.setEndpoints(['a', 'b', 'x', 'y']);
  assert.equal(d.isEjected('a', 10), true, 'a stays ejected');
  assert.equal(d.report('b', 'connect', 10).changed, true, "b's two failures were kept");
  d.setEndpoints(['x', 'y']);
  assert.equal(d.isEjected('a', 10), false);
  assert.equal(d.report('a', 'connect', 10).changed, false, 'a is no longer known');
  assert.equal((d as unknown as { states: Map<string, unknown> }).states.size, 2, 'state only for the current set');
});

test('defaults: eject on three failures in a row, within one call of the third', () => {
  const d = new OutlierDetector(DEFAULT_OUTLIER);
  d.setEndpoints(['a', 'b']);
  const at = [0, 10, 20].map((t) => d.report('a', 'connect', t).changed);
  assert.deepEqual(at, [false, false, true]);
  assert.equal(d.isEjected('a', 20 + DEFAULT_OUTLIER.baseEjectionMs - 1), true);
});
