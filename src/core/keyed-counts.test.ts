// KeyedCounts: counts per key, a release that counts once, keys at zero dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedCounts } from './keyed-counts.js';

test('take counts per key; each release gives back one slot, once; a key at zero is forgotten', () => {
  const c = new KeyedCounts();
  const a1 = c.take('a');
  const a2 = c.take('a');
  const b1 = c.take('b');
  assert.deepEqual([c.get('a'), c.get('b'), c.get('z')], [2, 1, 0]);
  a1();
  a1();
  assert.equal(c.get('a'), 1, 'a second call of the same release does nothing');
  a2();
  b1();
  assert.deepEqual([c.get('a'), c.get('b')], [0, 0]);
  assert.equal((c as unknown as { counts: Map<string, number> }).counts.size, 0, 'no key is kept at zero');
});
