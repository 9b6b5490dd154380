// Glob patterns: parsing table, matching table, and round-trip/matching properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePatternSet, formatStringPattern, matchesPatternSet, parseStringPattern } from './string-pattern.js';

test('parseStringPattern: the four forms and the refusals', () => {
  assert.deepEqual(parseStringPattern('*'), { kind: 'any' });
  assert.deepEqual(parseStringPattern('/a'), { kind: 'exact', value: '/a' });
  assert.deepEqual(parseStringPattern('/a/*'), { kind: 'prefix', value: '/a/' });
  assert.deepEqual(parseStringPattern('*.png'), { kind: 'suffix', value: '.png' });
  for (const bad of ['', '**', '/a*b', '*a*', 'a**']) assert.equal(parseStringPattern(bad), undefined, bad);
});

test('matchesPatternSet: exact, prefix, suffix, any; empty strings never match', () => {
  const set = compilePatternSet(['/exact', '/pre/*', '*.png'].map((p) => parseStringPattern(p)!));
  assert.equal(matchesPatternSet(set, '/exact'), true);
  assert.equal(matchesPatternSet(set, '/exact/'), false);
  assert.equal(matchesPatternSet(set, '/pre/x'), true);
  assert.equal(matchesPatternSet(set, '/pre'), false);
  assert.equal(matchesPatternSet(set, '/img/a.png'), true);
  assert.equal(matchesPatternSet(set, '/img/a.gif'), false);
  const any = compilePatternSet([parseStringPattern('*')!]);
  assert.equal(matchesPatternSet(any, 'x'), true);
  assert.equal(matchesPatternSet(any, ''), false);
});

test('string patterns: format(parse(s)) === s, and matching agrees with a naive glob', () => {
  const piece = fc.string({ maxLength: 8 }).map((s) => s.replaceAll('*', ''));
  const pattern = fc.oneof(
    fc.constant('*'),
    piece.filter((s) => s.length > 0),
    piece.map((s) => `${s}*`),
    piece.map((s) => `*${s}`),
  );
  fc.assert(
    fc.property(pattern, fc.string({ maxLength: 12 }), (text, subject) => {
      const p = parseStringPattern(text);
      assert.ok(p, text);
      assert.equal(formatStringPattern(p), text);
      const naive = subject.length > 0 && new RegExp(`^${text.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(subject);
      assert.equal(matchesPatternSet(compilePatternSet([p]), subject), naive, `${text} vs ${JSON.stringify(subject)}`);
    }),
    { numRuns: 2000, interruptAfterTimeLimit: 5000 },
  );
});
