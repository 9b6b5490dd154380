// The change feed behind delta pulls: only what changed after a cursor of this
// epoch; everything for any cursor it cannot vouch for, so a client never misses a state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StateFeed } from './state-feed.js';

function feed(): StateFeed {
  const f = new StateFeed('e1');
  f.put('a', 'jws-a1');
  f.put('b', 'jws-b1');
  f.put('c', 'jws-c1');
  return f;
}

test('since() answers only the states changed after the cursor, in the order they changed', () => {
  const f = feed();
  const full = f.since(undefined, undefined);
  assert.deepEqual(full, { states: ['jws-a1', 'jws-b1', 'jws-c1'], cursor: 3, epoch: 'e1' });
  assert.deepEqual(f.since(3, 'e1'), { states: [], cursor: 3, epoch: 'e1' }, 'nothing changed: an empty delta');
  f.put('b', 'jws-b2');
  f.put('a', 'jws-a2');
  assert.deepEqual(f.since(3, 'e1'), { states: ['jws-b2', 'jws-a2'], cursor: 5, epoch: 'e1' });
  assert.deepEqual(f.since(4, 'e1').states, ['jws-a2']);
  assert.deepEqual(f.since(0, 'e1').states, ['jws-c1', 'jws-b2', 'jws-a2'], 'cursor 0: every state, once');
});

test('a re-put of the same JWS is no change: the cursor does not move', () => {
  const f = feed();
  f.put('b', 'jws-b1');
  assert.equal(f.cursor, 3);
  assert.deepEqual(f.since(3, 'e1').states, []);
});

test('every state, whatever the cursor, when the epoch differs or the cursor is missing, not an integer or ahead of us', () => {
  const f = feed();
  const all = ['jws-a1', 'jws-b1', 'jws-c1'];
  const cases: [string, number | undefined, string | undefined][] = [
    ['no cursor', undefined, 'e1'],
    ['no epoch', 2, undefined],
    ['another epoch (we restarted)', 2, 'e0'],
    ['a fraction', 1.5, 'e1'],
    ['NaN', Number.NaN, 'e1'],
    ['negative', -1, 'e1'],
    ['ahead of our sequence', 4, 'e1'],
  ];
  for (const [what, cursor, epoch] of cases) {
    assert.deepEqual(f.since(cursor, epoch), { states: all, cursor: 3, epoch: 'e1' }, what);
  }
});

test('a full answer leads with the state named first; a delta does not reorder', () => {
  const f = feed();
  f.put('own', 'jws-own1');
  assert.deepEqual(f.since(undefined, undefined, 'own').states, ['jws-own1', 'jws-a1', 'jws-b1', 'jws-c1']);
  assert.deepEqual(f.since(3, 'e1', 'own').states, ['jws-own1']);
  assert.deepEqual(f.since(undefined, undefined, 'absent').states.length, 4, 'a first region we hold nothing of is skipped');
});

test('epochs differ per feed (per process start)', () => {
  assert.notEqual(new StateFeed().epoch, new StateFeed().epoch);
  assert.match(new StateFeed().epoch, /^[A-Za-z0-9_-]{16}$/);
});
