import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusalLog } from './refusal-log.js';
import type { Logger } from '../../core/log.js';

test('refusals are logged up to the burst per window, then summarized', () => {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }) } as unknown as Logger;
  let now = 1000;
  const r = new RefusalLog(log, { burst: 3, windowMs: 1000, now: () => now });
  const results = Array.from({ length: 10 }, (_, i) => r.warn({ i }, 'refused'));
  assert.deepEqual(results, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(lines.length, 3);
  now += 999;
  assert.equal(r.warn({}, 'refused'), false, 'same window');
  now += 1;
  assert.equal(r.warn({ i: 'next' }, 'refused'), true);
  assert.equal(lines.length, 5);
  assert.deepEqual(lines[3], { fields: { suppressed: 8, windowMs: 1000 }, msg: 'further refusals were not logged' });
});
