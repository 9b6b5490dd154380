// Builds synthetic ClientHello bytes for tests: a handshake message with chosen
// extensions, and framing of any handshake bytes into TLS records of given sizes.
import { randomBytes } from 'node:crypto';

export interface SyntheticHello {
  readonly serverName?: string | Buffer;
  readonly alpn?: readonly string[];
  /** Extra extensions, appended after server_name and ALPN, as [type, data]. */
  readonly extensions?: ReadonlyArray<readonly [number, Buffer]>;
  readonly sessionId?: Buffer;
  readonly legacyVersion?: number;
}

/** The handshake message (4-byte header + body) of a ClientHello. */
export function buildClientHelloMessage(h: SyntheticHello = {}): Buffer {
  const exts: Buffer[] = [];
  if (h.serverName !== undefined) {
    const name = typeof h.serverName === 'string' ? Buffer.from(h.serverName, 'latin1') : h.serverName;
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    exts.push(extension(0, Buffer.concat([u16(entry.length), entry])));
  }
  if (h.alpn !== undefined) {
    const list = Buffer.concat(h.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
    exts.push(extension(16, Buffer.concat([u16(list.length), list])));
  }
  for (const [type, data] of h.extensions ?? []) exts.push(extension(type, data));
  const extBlock = Buffer.concat(exts);
  const sessionId = h.sessionId ?? randomBytes(32);
  const body = Buffer.concat([
    u16(h.legacyVersion ?? 0x0303),
    randomBytes(32),
    Buffer.from([sessionId.length]), sessionId,
    u16(4), Buffer.from([0x13, 0x01, 0x13, 0x02]), // TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
    Buffer.from([1, 0]), // compression: null only
    u16(extBlock.length), extBlock,
  ]);
  return Buffer.concat([Buffer.from([1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
}

/**
 * Frames handshake bytes into handshake records. `sizes` gives the payload size
 * of each record in turn (the last size repeats); default: one record per 16 KiB.
 */
export function frameRecords(handshake: Buffer, sizes: readonly number[] = [16_384], recordVersion = 0x0301): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < handshake.length; i++) {
    const size = Math.max(1, sizes[Math.min(i, sizes.length - 1)]!);
    const chunk = handshake.subarray(off, off + size);
    out.push(Buffer.from([22, recordVersion >> 8, recordVersion & 0xff]), u16(chunk.length), chunk);
    off += chunk.length;
  }
  return Buffer.concat(out);
}

/** Concatenates the payloads of the handshake records in `records` (which must be well formed). */
export function unframeRecords(records: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off + 5 <= records.length; ) {
    const length = records.readUInt16BE(off + 3);
    out.push(records.subarray(off + 5, off + 5 + length));
    off += 5 + length;
  }
  return Buffer.concat(out);
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}
