// ClientHello parser: real hellos captured from node:tls and `openssl s_client`,
// synthetic malformed cases as a table, and time-boxed property tests.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { parseClientHello, MAX_CLIENT_HELLO_RECORDS, type ClientHelloParse } from './client-hello.js';
import { buildClientHelloMessage, frameRecords, unframeRecords } from './client-hello-builder.js';

const SNI = 'web.default.node-a.eu.example';
const PROPERTY = { numRuns: 300, interruptAfterTimeLimit: 4000 };

/** Records the first handshake record a client sends to a raw TCP server. */
async function captureHello(startClient: (port: number) => () => void): Promise<Buffer> {
  const server = createServer();
  const sockets = new Set<Socket>();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let stop: (() => void) | undefined;
  try {
    const captured = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 10 s')), 10_000);
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('error', () => undefined);
        let got = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          // Independent framing: the first record's own length field says when it is complete.
          if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
            clearTimeout(timer);
            resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
            s.destroy();
          }
        });
      });
    });
    stop = startClient((server.address() as AddressInfo).port);
    const hello = await captured;
    assert.equal(hello.readUIntBE(6, 3) + 4, hello.length - 5, 'captured hello should fit one record');
    return hello;
  } finally {
    stop?.();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

function nodeClient(opts: { servername?: string; alpn?: string[]; maxVersion?: 'TLSv1.2' }) {
  return (port: number) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(opts.servername ? { servername: opts.servername } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}), ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}) });
    s.on('error', () => undefined);
    return () => s.destroy();
  };
}

function opensslClient(args: string[]) {
  return (port: number) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('error', () => undefined);
    return () => { p.kill('SIGKILL'); };
  };
}

interface Captured { name: string; bytes: Buffer; serverName: string | undefined; alpn: string[] }

describe('parseClientHello on real ClientHellos', () => {
  const cases: Array<Omit<Captured, 'bytes'> & { start: (port: number) => () => void }> = [
    { name: 'node tls, SNI + ALPN', serverName: SNI, alpn: ['h2', 'http/1.1'], start: nodeClient({ servername: SNI, alpn: ['h2', 'http/1.1'] }) },
    { name: 'node tls to an IP, no SNI', serverName: undefined, alpn: [], start: nodeClient({}) },
    { name: 'node tls 1.2 only', serverName: 'db.prod.n7.us.example', alpn: [], start: nodeClient({ servername: 'db.prod.n7.us.example', maxVersion: 'TLSv1.2' }) },
    { name: 'openssl s_client -servername -alpn', serverName: SNI, alpn: ['h2'], start: opensslClient(['-servername', SNI, '-alpn', 'h2']) },
    { name: 'openssl s_client -noservername', serverName: undefined, alpn: [], start: opensslClient(['-noservername']) },
    { name: 'openssl s_client -tls1_2', serverName: 'api.x.edge-1.eu.example', alpn: [], start: opensslClient(['-tls1_2', '-servername', 'api.x.edge-1.eu.example']) },
  ];
  const captured: Captured[] = [];

  before(async () => {
    for (const c of cases) captured.push({ name: c.name, serverName: c.serverName, alpn: c.alpn, bytes: await captureHello(c.start) });
  });

  it('extracts SNI and ALPN and consumes exactly the hello', () => {
    assert.equal(captured.length, cases.length);
    for (const c of captured) {
      const r = parseClientHello(c.bytes);
      assert.deepEqual(r, { kind: 'ok', serverName: c.serverName, alpn: c.alpn, bytesParsed: c.bytes.length }, c.name);
    }
  });

  it('says incomplete for every strict prefix, and never asks for fewer bytes than it has', () => {
    for (const c of captured) {
      for (let n = 0; n < c.bytes.length; n++) {
        const r = parseClientHello(c.bytes.subarray(0, n));
        assert.equal(r.kind, 'incomplete', `${c.name}: prefix ${n}`);
        if (r.kind === 'incomplete') assert.ok(r.needAtLeast > n && r.needAtLeast <= c.bytes.length, `${c.name}: need ${r.needAtLeast} at ${n}`);
      }
    }
  });

  it('gives the same answer when the hello is split over many records', () => {
    for (const c of captured) {
      const hs = unframeRecords(c.bytes);
      for (const sizes of [[1, 3, 100], [7], [hs.length - 1]]) {
        const framed = frameRecords(hs, sizes);
        assert.deepEqual(parseClientHello(framed), { kind: 'ok', serverName: c.serverName, alpn: c.alpn, bytesParsed: framed.length }, `${c.name} ${sizes}`);
      }
    }
  });

  it('ignores what follows the hello (early data) and reports where the hello ended', () => {
    for (const c of captured) {
      const r = parseClientHello(Buffer.concat([c.bytes, Buffer.from([23, 3, 3, 0, 3, 1, 2, 3])]));
      assert.equal(r.kind === 'ok' && r.bytesParsed, c.bytes.length, c.name);
    }
  });

  it('property: re-fragmenting a real hello into random records yields the same result', () => {
    fc.assert(fc.property(fc.nat({ max: captured.length - 1 }), fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 40 }), (i, sizes) => {
      const c = captured[i]!;
      const framed = frameRecords(unframeRecords(c.bytes), sizes);
      const r = parseClientHello(framed);
      if (recordCount(framed) > MAX_CLIENT_HELLO_RECORDS) assert.match(invalidReason(r), /more than 64 records/);
      else assert.deepEqual(r, { kind: 'ok', serverName: c.serverName, alpn: c.alpn, bytesParsed: framed.length });
    }), PROPERTY);
  });

  it('property: flipping bytes of a real hello never throws and never invents a longer consumption', () => {
    fc.assert(fc.property(fc.nat({ max: captured.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (i, flips) => {
      const bytes = Buffer.from(captured[i]!.bytes);
      for (const [pos, x] of flips) bytes[pos % bytes.length]! ^= x;
      const r = parseClientHello(bytes);
      assert.ok(['ok', 'invalid', 'incomplete'].includes(r.kind));
      if (r.kind === 'ok') assert.ok(r.bytesParsed <= bytes.length);
    }), PROPERTY);
  });
});

function recordCount(records: Buffer): number {
  let n = 0;
  for (let off = 0; off < records.length; off += 5 + records.readUInt16BE(off + 3)) n++;
  return n;
}

function invalidReason(r: ClientHelloParse): string {
  assert.equal(r.kind, 'invalid', `expected invalid, got ${JSON.stringify(r)}`);
  return r.kind === 'invalid' ? r.reason : '';
}

const hello = (h: Parameters<typeof buildClientHelloMessage>[0] = {}) => frameRecords(buildClientHelloMessage(h));

/** Replaces bytes of a built message at `at` (offset inside the handshake message body start = 4). */
function patch(msg: Buffer, at: number, bytes: number[]): Buffer {
  const b = Buffer.from(msg);
  bytes.forEach((v, i) => { b[at + i] = v; });
  return b;
}

describe('parseClientHello on malformed input', () => {
  const base = buildClientHelloMessage({ serverName: SNI, sessionId: Buffer.alloc(32) });
  // Offsets in a message with a 32-byte session id: header 4, version 2, random 32, sid 1+32.
  const SID_LEN = 4 + 2 + 32;
  const SUITES_LEN = SID_LEN + 1 + 32;
  const table: Array<{ name: string; bytes: Buffer; reason: RegExp; notTls?: boolean }> = [
    { name: 'plaintext HTTP', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), reason: /first byte 0x47: looks like plaintext HTTP/, notTls: true },
    { name: 'SSH banner', bytes: Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), reason: /0x53: looks like a plaintext protocol/, notTls: true },
    { name: 'TLS alert first', bytes: Buffer.from([21, 3, 3, 0, 2, 2, 40]), reason: /a TLS alert record, not a handshake/, notTls: true },
    { name: 'SSLv2 hello', bytes: Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), reason: /SSLv2-format/, notTls: true },
    { name: 'record version 0x0309', bytes: Buffer.from([22, 3, 9, 0, 10]), reason: /legacy version 0x0309/, notTls: true },
    { name: 'record major 2', bytes: Buffer.from([22, 2]), reason: /major byte 0x02/, notTls: true },
    { name: 'empty record', bytes: Buffer.from([22, 3, 1, 0, 0]), reason: /empty handshake record/ },
    { name: 'record too long', bytes: Buffer.from([22, 3, 1, 0x40, 0x01]), reason: /length 16385 exceeds/ },
    { name: 'ServerHello', bytes: Buffer.from([22, 3, 3, 0, 50, 2]), reason: /type 2 is not ClientHello \(1\) \(a ServerHello/ },
    { name: 'huge declared hello, refused from its header', bytes: Buffer.from([22, 3, 1, 0, 100, 1, 0, 0x80, 0]), reason: /32772 bytes exceeds the limit/ },
    { name: 'tiny body', bytes: frameRecords(Buffer.from([1, 0, 0, 3, 3, 3, 0])), reason: /shorter than the minimum/ },
    { name: 'body version', bytes: frameRecords(patch(base, 4, [2, 0])), reason: /legacy_version 0x0200/ },
    { name: 'session id 33', bytes: frameRecords(patch(base, SID_LEN, [33])), reason: /session_id length 33 exceeds 32/ },
    { name: 'odd cipher suites', bytes: frameRecords(patch(base, SUITES_LEN, [0, 3])), reason: /cipher_suites length 3/ },
    { name: 'no compression', bytes: frameRecords(patch(base, SUITES_LEN + 2 + 4, [0])), reason: /offers no compression method/ },
    { name: 'extensions length mismatch', bytes: frameRecords(patch(base, SUITES_LEN + 2 + 4 + 2, [0, 1])), reason: /extensions length 1 does not match/ },
    { name: 'duplicate extension', bytes: hello({ extensions: [[5, Buffer.alloc(0)], [5, Buffer.alloc(0)]] }), reason: /repeats extension 5/ },
    { name: 'server_name empty list', bytes: hello({ extensions: [[0, Buffer.from([0, 0])]] }), reason: /empty list/ },
    { name: 'server_name list overruns', bytes: hello({ extensions: [[0, Buffer.from([0, 9, 0, 0, 1, 0x61])]] }), reason: /ends inside server_name list/ },
    { name: 'server_name trailing bytes', bytes: hello({ extensions: [[0, Buffer.from([0, 4, 0, 0, 1, 0x61, 7])]] }), reason: /1 unexpected trailing bytes/ },
    { name: 'server_name type 1', bytes: hello({ extensions: [[0, Buffer.from([0, 4, 1, 0, 1, 0x61])]] }), reason: /entry type 1 is not host_name/ },
    { name: 'two host names', bytes: hello({ extensions: [[0, Buffer.from([0, 8, 0, 0, 1, 0x61, 0, 0, 1, 0x62])]] }), reason: /more than one host_name/ },
    { name: 'host name with NUL', bytes: hello({ serverName: Buffer.from('a\0b') }), reason: /byte 0x00/ },
    { name: 'empty host name', bytes: hello({ serverName: Buffer.alloc(0) }), reason: /host_name length 0/ },
    { name: 'ALPN empty protocol', bytes: hello({ extensions: [[16, Buffer.from([0, 4, 2, 0x68, 0x32, 0])]] }), reason: /ALPN list contains an empty protocol name/ },
    { name: 'ALPN zero-length entry', bytes: hello({ extensions: [[16, Buffer.from([0, 1, 0])]] }), reason: /empty protocol name/ },
    { name: 'application data before the hello ends', bytes: Buffer.concat([frameRecords(base.subarray(0, 20)), Buffer.from([23, 3, 3, 0, 1, 0])]), reason: /record 2 has content type 23 \(application_data\)/ },
    { name: 'more than 64 records', bytes: frameRecords(base, [1]), reason: /more than 64 records/ },
    { name: 'hello over 16 KiB', bytes: hello({ serverName: SNI, extensions: [[21, Buffer.alloc(17_000)]] }), reason: /exceeds the limit of 16388 bytes/ },
  ];
  for (const c of table) {
    it(`refuses: ${c.name}`, () => {
      const r = parseClientHello(c.bytes);
      assert.match(invalidReason(r), c.reason);
      assert.equal(r.kind === 'invalid' && r.notTls, c.notTls ?? false);
    });
  }

  it('accepts a hello without extensions and a large hello when the limit allows it', () => {
    const noExt = buildClientHelloMessage().subarray(0, -2);
    noExt.writeUIntBE(noExt.length - 4, 1, 3);
    assert.deepEqual(parseClientHello(frameRecords(noExt)), { kind: 'ok', serverName: undefined, alpn: [], bytesParsed: noExt.length + 5 });
    const big = hello({ serverName: SNI, extensions: [[21, Buffer.alloc(17_000)]] });
    const r = parseClientHello(big, { maxBytes: 32_768 });
    assert.deepEqual(r, { kind: 'ok', serverName: SNI, alpn: [], bytesParsed: big.length });
  });

  it('property: random bytes never throw, and a 0x16 0x03 start is never called "not TLS"', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (arr, tlsStart) => {
      const bytes = Buffer.from(arr);
      if (tlsStart && bytes.length >= 2) { bytes[0] = 22; bytes[1] = 3; }
      const r = parseClientHello(bytes);
      assert.ok(r.kind === 'incomplete' || r.kind === 'invalid' || r.kind === 'ok');
      if (r.kind === 'incomplete') assert.ok(r.needAtLeast > bytes.length);
      if (tlsStart && bytes.length >= 2 && r.kind === 'invalid') assert.equal(r.notTls && !/version/.test(r.reason), false);
    }), PROPERTY);
  });

  it('property: synthetic hellos round-trip SNI and ALPN through any framing; strict prefixes are incomplete', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
    const proto = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /^[\x21-\x7e]+$/.test(s));
    const ext = fc.tuple(fc.integer({ min: 17, max: 65_535 }), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)));
    fc.assert(fc.property(fc.option(name, { nil: undefined }), fc.option(fc.array(proto, { minLength: 1, maxLength: 4 }), { nil: undefined }),
      fc.uniqueArray(ext, { selector: (e) => e[0], maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
      fc.nat(), (serverName, alpn, extensions, sizes, cut) => {
        const framed = frameRecords(buildClientHelloMessage({ ...(serverName !== undefined ? { serverName } : {}), ...(alpn ? { alpn } : {}), extensions }), sizes);
        const r = parseClientHello(framed);
        if (recordCount(framed) > MAX_CLIENT_HELLO_RECORDS) return void assert.match(invalidReason(r), /more than 64 records/);
        assert.deepEqual(r, { kind: 'ok', serverName, alpn: alpn ?? [], bytesParsed: framed.length });
        assert.equal(parseClientHello(framed.subarray(0, cut % framed.length)).kind, 'incomplete');
      }), PROPERTY);
  });

  it('property: a random extension payload never throws', () => {
    fc.assert(fc.property(fc.constantFrom(0, 16), fc.uint8Array({ maxLength: 40 }), (type, data) => {
      const r = parseClientHello(hello({ extensions: [[type, Buffer.from(data)]] }));
      assert.ok(r.kind === 'ok' || r.kind === 'invalid');
    }), PROPERTY);
  });

  it('random garbage of any size is answered without reading it all', () => {
    const r = parseClientHello(Buffer.concat([Buffer.from([22, 3, 1, 0, 200, 9]), randomBytes(1 << 20)]));
    assert.match(invalidReason(r), /type 9 is not ClientHello/);
  });
});
