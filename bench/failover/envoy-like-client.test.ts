import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterResult, intervalTick, ENVOY_DEFAULTS } from './envoy-like-client.js';

test('Envoy model: the 5th consecutive failure ejects, a success in between resets the count', () => {
  const h = { consecutive: 0, ejectedAt: undefined as number | undefined, ejections: 0 };
  for (let i = 0; i < 4; i++) afterResult(h, false, i);
  assert.equal(h.ejectedAt, undefined);
  afterResult(h, true, 4);
  for (let i = 0; i < 4; i++) afterResult(h, false, 10 + i);
  assert.equal(h.ejectedAt, undefined);
  afterResult(h, false, 20);
  assert.equal(h.ejectedAt, 20);
  assert.equal(h.ejections, 1);
});

test('Envoy model: an ejection ends at the first interval tick past base_ejection_time x ejections', () => {
  const h = { consecutive: 0, ejectedAt: 0 as number | undefined, ejections: 2 };
  intervalTick(h, ENVOY_DEFAULTS.baseEjectionMs);
  assert.equal(h.ejectedAt, 0, 'two ejections: 60 s');
  intervalTick(h, 2 * ENVOY_DEFAULTS.baseEjectionMs);
  assert.equal(h.ejectedAt, undefined);
});
