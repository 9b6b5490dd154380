// A plain JS Duplex over another duplex. Node's HTTP/1 parser reads straight
// from a native stream handle when it finds one (socket._handle); an HTTP/2
// stream has such a handle, but its bytes must come through the HTTP/2 layer,
// so the parser gets this handle-less view instead.
import { Duplex } from 'node:stream';

export class DuplexView extends Duplex {
  constructor(private readonly inner: Duplex) {
    super({ allowHalfOpen: true });
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    inner.pause();
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, encoding, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.destroy(err ?? undefined);
    cb(err);
  }
}
