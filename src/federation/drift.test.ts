import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDrift, formatDrift } from './drift.js';

test('identical policy in every known region is no drift; unknown regions are listed, not counted', () => {
  const r = computeDrift([
    { region: 'eu', resources: { 'AuthorizationPolicy shop/a': 'x' } },
    { region: 'us', resources: { 'AuthorizationPolicy shop/a': 'x' } },
    { region: 'ap', resources: undefined },
  ]);
  assert.equal(r.drift, false);
  assert.deepEqual(r.unknown, ['ap']);
  assert.deepEqual(r.differing, []);
  assert.match(formatDrift(r), /unknown: ap/);
});

test('a changed resource and a resource one region lacks are both named, with what each region has', () => {
  const r = computeDrift([
    { region: 'eu', resources: { 'AuthorizationPolicy shop/a': 'x', 'TrafficPolicy shop/t': 't' } },
    { region: 'us', resources: { 'AuthorizationPolicy shop/a': 'y', 'TrafficPolicy shop/t': 't' } },
    { region: 'ap', resources: { 'AuthorizationPolicy shop/a': 'x' } },
  ]);
  assert.equal(r.drift, true);
  assert.deepEqual(r.differing, [
    { resource: 'AuthorizationPolicy shop/a', regions: { eu: 'x', us: 'y', ap: 'x' } },
    { resource: 'TrafficPolicy shop/t', regions: { eu: 't', us: 't', ap: null } },
  ]);
  const text = formatDrift(r);
  assert.match(text, /2 resource\(s\) differ/);
  assert.match(text, /ap +\(absent\)/);
});
