// WorkloadBulkhead: the admission decision as a table, and slots released once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkloadBulkhead, decideAdmission } from './workload-bulkhead.js';

test('decideAdmission: admit below the cap, refuse at and above it', () => {
  const table: Array<[active: number, max: number, kind: 'admit' | 'refuse']> = [
    [0, 1, 'admit'], [0, 2, 'admit'], [1, 2, 'admit'], [2, 2, 'refuse'], [3, 2, 'refuse'], [0, 0, 'refuse'],
  ];
  for (const [active, max, kind] of table) assert.equal(decideAdmission('shop/a', active, max).kind, kind, `${active}/${max}`);
  const r = decideAdmission('shop/a', 2, 2);
  assert.ok(r.kind === 'refuse' && /shop\/a has 2 concurrent app connections.*maxConnectionsPerWorkload.*2/.test(r.reason));
});

test('WorkloadBulkhead: per-workload budgets, release is idempotent', () => {
  const b = new WorkloadBulkhead(2);
  const a1 = b.acquire('shop/a');
  const a2 = b.acquire('shop/a');
  assert.equal(b.acquire('shop/a').kind, 'refuse');
  assert.equal(b.acquire('shop/b').kind, 'admit', 'another workload has its own budget');
  assert.ok(a1.kind === 'admit' && a2.kind === 'admit');
  a1.release();
  a1.release();
  assert.equal(b.inUse('shop/a'), 1, 'a double release frees one slot only');
  assert.equal(b.acquire('shop/a').kind, 'admit');
});
