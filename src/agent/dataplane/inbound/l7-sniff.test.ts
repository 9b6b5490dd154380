import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { HTTP2_PREFACE, classifyPreface, sniffHttpProtocol, type SniffedProtocol } from './l7-sniff.js';

test('the first bytes decide the protocol (table)', () => {
  const table: [string, Buffer, SniffedProtocol | undefined][] = [
    ['whole preface', HTTP2_PREFACE, 'h2'],
    ['preface and a SETTINGS frame', Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]), 'h2'],
    ['a piece of the preface', HTTP2_PREFACE.subarray(0, 10), undefined],
    ['nothing yet', Buffer.alloc(0), undefined],
    ['an HTTP/1.1 GET', Buffer.from('GET / HTTP/1.1\r\n'), 'http1'],
    ['PRI with an HTTP/1 version', Buffer.from('PRI * HTTP/1.1\r\n\r\n'), 'http1'],
    ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x00]), 'http1'],
  ];
  for (const [what, head, want] of table) assert.equal(classifyPreface(head), want, what);
});

/** Feeds chunks, sniffs, then reads everything back: nothing sniffed may be lost. */
async function sniffChunks(chunks: Buffer[]): Promise<{ protocol: SniffedProtocol; bytes: Buffer }> {
  const s = new PassThrough();
  const protocol = await new Promise<SniffedProtocol>((resolve) => {
    sniffHttpProtocol(s, resolve);
    for (const c of chunks) s.write(c);
    s.end();
  });
  const got: Buffer[] = [];
  for await (const c of s) got.push(c as Buffer);
  return { protocol, bytes: Buffer.concat(got) };
}

test('the sniffed bytes are put back, also when the preface comes in pieces', async () => {
  const frames = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const h2 = await sniffChunks([HTTP2_PREFACE.subarray(0, 3), HTTP2_PREFACE.subarray(3, 20), Buffer.concat([HTTP2_PREFACE.subarray(20), frames])]);
  assert.equal(h2.protocol, 'h2');
  assert.deepEqual(h2.bytes, Buffer.concat([HTTP2_PREFACE, frames]));
  const req = Buffer.from('GET /a HTTP/1.1\r\nhost: x\r\n\r\n');
  const h1 = await sniffChunks([req.subarray(0, 1), req.subarray(1)]);
  assert.equal(h1.protocol, 'http1');
  assert.deepEqual(h1.bytes, req);
});

test('a stream that ends inside the preface gets no verdict and is ended', async () => {
  // The caller's half (readable) ends; ours (writable) must be ended by the sniffer.
  const s = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
  let called = false;
  sniffHttpProtocol(s, () => (called = true));
  s.push(HTTP2_PREFACE.subarray(0, 5));
  s.push(null);
  await new Promise((r) => s.once('finish', r));
  assert.equal(called, false);
  assert.equal(s.writableEnded, true);
});
