import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowHistory } from './flow-history.js';
import type { FlowRecord } from './dataplane/observe/flow-record.js';

const flow = (n: number): FlowRecord => ({ time: n, direction: 'inbound', verdict: 'allow', bytesIn: 0, bytesOut: 0, durationMs: 0 }) as unknown as FlowRecord;

test('keeps the newest flows, oldest first, within its capacity', () => {
  const h = new FlowHistory(3);
  assert.deepEqual(h.list(), []);
  h.add(flow(1));
  h.add(flow(2));
  assert.deepEqual(h.list().map((f) => f.time), [1, 2]);
  for (const n of [3, 4, 5]) h.add(flow(n));
  assert.deepEqual(h.list().map((f) => f.time), [3, 4, 5]);
});
