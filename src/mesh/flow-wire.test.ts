import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFlowBatch } from './flow-wire.js';

const good = {
  time: 1_700_000_000_000,
  direction: 'outbound',
  source: 'spiffe://eu.example/ns/shop/sa/frontend',
  service: 'shop/ledger',
  port: 80,
  sourceRegion: 'eu',
  destinationRegion: 'us',
  verdict: 'allow',
  bytesOut: 10,
  bytesIn: 20,
  durationMs: 3.5,
};

test('checkFlowBatch: good records kept, each bad one refused and counted, the first problem named', () => {
  const c = checkFlowBatch(
    [
      good,
      { ...good, verdict: 'maybe' },
      { ...good, path: 'x'.repeat(5000) },
      { ...good, bytesIn: -1 },
      'not a record',
      { ...good, direction: 'inbound', destinationRegion: 'eu', sourceRegion: 'us' },
    ],
    'eu',
    100,
  );
  assert.equal(c.accepted.length, 2);
  assert.deepEqual(c.indexes, [0, 5]);
  assert.deepEqual(c.refused, { malformed: 4 });
  assert.match(c.firstProblem!, /field verdict/);
});

test('checkFlowBatch: a sender speaks only for its own side of a flow (a rogue region or node cannot forge others)', () => {
  const c = checkFlowBatch(
    [
      { ...good, sourceRegion: 'us' }, // outbound: the source side must be ours
      { ...good, direction: 'inbound', destinationRegion: 'ap' }, // inbound: the destination side must be ours
      { ...good, direction: 'inbound', destinationRegion: 'eu' },
    ],
    'eu',
    100,
  );
  assert.equal(c.accepted.length, 1);
  assert.deepEqual(c.refused, { other_region: 2 });
  assert.match(c.firstProblem!, /outbound flow of region us reported by region eu/);
});

test('checkFlowBatch: the stamps are never taken from the record; unknown fields are dropped; a batch over the limit is cut and counted', () => {
  const c = checkFlowBatch([{ ...good, region: 'us', node: 'forged', extra: 1 }, good, good], 'eu', 2);
  assert.equal(c.accepted.length, 2);
  assert.equal((c.accepted[0] as Record<string, unknown>).region, undefined);
  assert.equal((c.accepted[0] as Record<string, unknown>).node, undefined);
  assert.equal((c.accepted[0] as Record<string, unknown>).extra, undefined);
  assert.deepEqual(c.refused, { too_many: 1 });
  assert.deepEqual(checkFlowBatch({ not: 'a list' }, 'eu', 10).refused, { malformed: 1 });
});
