// Which HTTP an L7 stream speaks, from its first bytes: the HTTP/2 client
// preface means h2c (prior knowledge), anything else is HTTP/1.x. The bytes
// read are put back (unshift), so the parser that takes over sees them all.
import type { Duplex } from 'node:stream';

/** RFC 9113 section 3.4: every HTTP/2 connection starts with these 24 bytes. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type SniffedProtocol = 'h2' | 'http1';

/**
 * Pure: 'h2' once `head` holds the whole preface, 'http1' as soon as it
 * differs from it (an HTTP/1 request line differs at its first byte, so
 * HTTP/1 pays no wait), undefined while it is a proper prefix of it.
 */
export function classifyPreface(head: Buffer): SniffedProtocol | undefined {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.subarray(0, n).compare(HTTP2_PREFACE, 0, n) !== 0) return 'http1';
  return n === HTTP2_PREFACE.length ? 'h2' : undefined;
}

/**
 * Reads from `stream` until its protocol is known, puts the bytes back and
 * calls `done` once, with the stream paused. A stream that ends or closes
 * before (it sent at most a piece of the preface, which is no request) gets
 * no call: its end is answered with an end.
 */
export function sniffHttpProtocol(stream: Duplex, done: (protocol: SniffedProtocol) => void): void {
  let head: Buffer = Buffer.alloc(0);
  let settled = false;
  const settle = (protocol: SniffedProtocol): void => {
    if (settled) return;
    settled = true;
    stream.pause();
    stream.removeListener('data', onData);
    stream.removeListener('end', onEnd);
    stream.removeListener('close', onClose);
    if (head.length > 0) stream.unshift(head);
    done(protocol);
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const p = classifyPreface(head);
    if (p) settle(p);
  };
  const stop = (): void => {
    settled = true;
    stream.removeListener('data', onData);
    stream.removeListener('end', onEnd);
    stream.removeListener('close', onClose);
  };
  const onEnd = (): void => {
    stop();
    stream.end();
  };
  const onClose = (): void => stop();
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('close', onClose);
}
