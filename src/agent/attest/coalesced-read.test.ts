// Concurrent callers share reads, and nobody gets a read that began before it asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescedRead } from './coalesced-read.js';

test('callers during a read share the next one; a read is never joined half-way; errors reach only their callers', async () => {
  const pending: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  const r = new CoalescedRead('/x', () => new Promise<string>((resolve, reject) => pending.push({ resolve, reject })));
  const first = r.get();
  const second = r.get();
  const third = r.get();
  assert.equal(pending.length, 1, 'one read in flight');
  pending[0]!.resolve('read 1');
  assert.equal(await first, 'read 1');
  await new Promise((res) => setImmediate(res));
  assert.equal(pending.length, 2, 'the callers that came during read 1 share read 2');
  pending[1]!.resolve('read 2');
  assert.deepEqual(await Promise.all([second, third]), ['read 2', 'read 2']);
  const failing = r.get();
  pending[2]!.reject(new Error('EACCES'));
  await assert.rejects(failing, /EACCES/);
  const after = r.get();
  await new Promise((res) => setImmediate(res));
  pending[3]!.resolve('read 4');
  assert.equal(await after, 'read 4', 'a failed read does not stick');
});
