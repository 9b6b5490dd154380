// The export queue on disk: FIFO, durable across a reopen (a restart), the
// oldest batches dropped and counted over the byte bound, never the one being
// sent, and the leftovers of an interrupted write cleaned up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DiskQueue, isQueuedBatchFile } from './disk-queue.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'entente-queue-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('batches come out oldest first and survive a reopen', async (t) => {
  const d = dir(t);
  const q = new DiskQueue(d, 1 << 20);
  for (const n of [1, 2, 3]) await q.append(Buffer.from(`batch ${n}`), n);
  const again = new DiskQueue(d, 1 << 20);
  assert.equal(again.length, 3);
  assert.equal(again.items, 6);
  const first = again.lease()!;
  assert.equal((await again.read(first)).toString(), 'batch 1');
  await again.remove(first);
  assert.equal((await again.read(again.lease()!)).toString(), 'batch 2');
  // New batches continue the sequence after a reopen.
  const b = await again.append(Buffer.from('batch 4'), 4);
  assert.ok(b.seq > 3);
});

test('over the bound the oldest are dropped and counted; the batch being sent and the newest stay', async (t) => {
  const d = dir(t);
  const drops: number[] = [];
  const q = new DiskQueue(d, 250, (items) => drops.push(items));
  const body = Buffer.alloc(100, 'x');
  await q.append(body, 10);
  const sending = q.lease()!;
  await q.append(body, 20);
  await q.append(body, 30);
  // 300 bytes > 250: batch 2 (not 1, being sent) is dropped.
  assert.deepEqual(drops, [20]);
  assert.equal(q.length, 2);
  assert.equal(q.lease(), sending);
  await q.remove(sending);
  // A bound below one batch keeps the newest rather than nothing.
  const tiny = new DiskQueue(dir(t), 10);
  await tiny.append(body, 1);
  assert.equal(tiny.length, 1);
});

test('an interrupted write leaves nothing behind after a restart', (t) => {
  const d = dir(t);
  writeFileSync(join(d, '.tmp-0000000000000001-5.otlp.json'), 'half a batch');
  const q = new DiskQueue(d, 1 << 20);
  assert.equal(q.length, 0);
  assert.deepEqual(readdirSync(d), []);
});

test('only a renamed batch file counts as queued, not the temporary file of a write under way', async (t) => {
  const q = new DiskQueue(dir(t), 1 << 20);
  const b = await q.append(Buffer.from('{}'), 3);
  assert.ok(isQueuedBatchFile(basename(b.path)));
  assert.equal(isQueuedBatchFile('.tmp-0000000000000001-5.otlp.json'), false);
  assert.equal(isQueuedBatchFile('0000000000000001-5.otlp.json.bak'), false);
});
