// Adaptive sampling: a flat rate of sampled roots whatever the load, a cap on
// recorded spans, and a tenth of the roots while the export queue fills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveSampler } from './sampler.js';

test('roots: at most rootsPerSecond, whatever the request rate; the budget refills with time', () => {
  let now = 0;
  let fill = 0;
  const s = new AdaptiveSampler({ rootsPerSecond: 10, maxSpansPerSecond: 100, backoffAbove: 0.5 }, () => fill, () => now);
  let sampled = 0;
  for (let i = 0; i < 10_000; i++) if (s.sampleRoot()) sampled++;
  assert.equal(sampled, 10, 'a burst of 10 000 requests in one instant');
  now += 500;
  sampled = 0;
  for (let i = 0; i < 1000; i++) if (s.sampleRoot()) sampled++;
  assert.equal(sampled, 5, 'half a second later');
  // A long quiet spell banks one second's worth only.
  now += 60_000;
  sampled = 0;
  for (let i = 0; i < 1000; i++) if (s.sampleRoot()) sampled++;
  assert.equal(sampled, 10);
  // The queue more than half full: a tenth.
  fill = 0.8;
  now += 1000;
  sampled = 0;
  for (let i = 0; i < 1000; i++) if (s.sampleRoot()) sampled++;
  assert.equal(sampled, 1);
});

test('spans: capped at maxSpansPerSecond', () => {
  let now = 0;
  const s = new AdaptiveSampler({ rootsPerSecond: 10, maxSpansPerSecond: 100, backoffAbove: 0.5 }, () => 0, () => now);
  let admitted = 0;
  for (let i = 0; i < 1000; i++) if (s.admit()) admitted++;
  assert.equal(admitted, 100);
  now += 100;
  admitted = 0;
  for (let i = 0; i < 1000; i++) if (s.admit()) admitted++;
  assert.equal(admitted, 10);
});
