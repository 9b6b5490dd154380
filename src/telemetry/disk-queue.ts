// A bounded FIFO of export batches on disk, for telemetry that must outlive
// a collector outage and a crash of the exporting process. Each batch is one
// file, `<sequence>-<items>.otlp.json`, written to a temporary name, fsynced,
// renamed into place and the directory fsynced: a batch is either wholly in
// the queue or not at all, and once append() resolves it survives SIGKILL
// and power loss. Over the byte bound the OLDEST batches are deleted, and
// their items counted as dropped: the newest telemetry is the most useful
// once the collector is back. Delivery is at least once: a batch is removed
// only after the collector acknowledged it.
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface QueuedBatch {
  readonly seq: number;
  readonly items: number;
  readonly bytes: number;
  readonly path: string;
}

const NAME = /^(\d{16})-(\d{1,9})\.otlp\.json$/;

/** Whether a file in a queue directory is a batch in the queue (not the temporary file of a write still under way). */
export function isQueuedBatchFile(name: string): boolean {
  return NAME.test(name);
}

export class DiskQueue {
  private readonly batches: QueuedBatch[] = [];
  private bytes = 0;
  private nextSeq = 1;
  // Appends and removals run one at a time, in order.
  private chain: Promise<unknown> = Promise.resolve();
  /** The batch being sent: never dropped by the bound while the collector may be acknowledging it. */
  private leased: QueuedBatch | undefined;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly onDrop: (items: number, batches: number) => void = () => undefined,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) {
      const m = NAME.exec(name);
      const path = join(dir, name);
      if (!m) {
        // A temporary file of a write that a crash interrupted: never acknowledged, never renamed.
        if (name.startsWith('.tmp-')) unlinkSync(path);
        continue;
      }
      const bytes = statSync(path).size;
      this.batches.push({ seq: Number(m[1]), items: Number(m[2]), bytes, path });
      this.bytes += bytes;
    }
    this.batches.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.batches.at(-1)?.seq ?? 0) + 1;
  }

  /** Batches waiting, oldest first. */
  get length(): number {
    return this.batches.length;
  }

  /** Items waiting in all batches. */
  get items(): number {
    return this.batches.reduce((n, b) => n + b.items, 0);
  }

  get size(): number {
    return this.bytes;
  }

  /** How full the queue is, 0-1. */
  fill(): number {
    return Math.min(1, this.bytes / this.maxBytes);
  }

  /** The oldest batch, held for sending until remove() or release(). */
  lease(): QueuedBatch | undefined {
    this.leased = this.batches[0];
    return this.leased;
  }

  release(): void {
    this.leased = undefined;
  }

  read(b: QueuedBatch): Promise<Buffer> {
    return readFile(b.path);
  }

  /** Resolves once the batch is durable on disk (the moment its items count as acknowledged). */
  append(body: Uint8Array, items: number): Promise<QueuedBatch> {
    const run = async (): Promise<QueuedBatch> => {
      const seq = this.nextSeq++;
      const name = `${String(seq).padStart(16, '0')}-${items}.otlp.json`;
      const tmp = join(this.dir, `.tmp-${name}`);
      const path = join(this.dir, name);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await this.syncDir();
      const b: QueuedBatch = { seq, items, bytes: body.byteLength, path };
      this.batches.push(b);
      this.bytes += b.bytes;
      await this.enforceBound();
      return b;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** After the collector acknowledged it. */
  remove(b: QueuedBatch): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.leased === b) this.leased = undefined;
      const i = this.batches.indexOf(b);
      if (i < 0) return;
      this.batches.splice(i, 1);
      this.bytes -= b.bytes;
      await unlink(b.path).catch(() => undefined);
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async enforceBound(): Promise<void> {
    let items = 0;
    let count = 0;
    // The newest batch always stays (a bound below one batch must not drop everything), and so does the one being sent.
    while (this.bytes > this.maxBytes) {
      const i = this.batches[0] === this.leased ? 1 : 0;
      if (i >= this.batches.length - 1) break;
      const b = this.batches.splice(i, 1)[0]!;
      this.bytes -= b.bytes;
      items += b.items;
      count++;
      await unlink(b.path).catch(() => undefined);
    }
    if (count > 0) this.onDrop(items, count);
  }

  private async syncDir(): Promise<void> {
    // The rename is durable only once the directory entry is: fsync the directory (Linux allows it read-only).
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}
