// Table and property tests for the BGP codecs: known byte vectors, round
// trips, and the NOTIFICATION chosen for each kind of malformed message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, readFrame } from './message-codec.js';
import type { BgpMessage, CodecContext, UpdateMessage } from './messages.js';
import { isEndOfRib } from './messages.js';
import { makePrefix, parsePrefix } from './prefix.js';

const AS4: CodecContext = { fourOctetAs: true };
const AS2: CodecContext = { fourOctetAs: false };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MARKER = 'ff'.repeat(16);

function roundTrip(m: BgpMessage, ctx = AS4): BgpMessage {
  const r = decodeMessage(encodeMessage(m, ctx), ctx);
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return (r as { value: BgpMessage }).value;
}

describe('BGP message codec: known encodings', () => {
  it('encodes KEEPALIVE as a bare 19-byte header', () => {
    assert.equal(encodeMessage({ type: 'keepalive' }, AS4).toString('hex'), `${MARKER}001304`);
  });

  it('encodes an OPEN with 4-octet AS and IPv4 multiprotocol capabilities', () => {
    const bytes = encodeMessage({
      type: 'open', version: 4, myAs: 23456, holdTime: 3, bgpId: '192.0.2.1',
      capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 4200000001, unknown: [] },
    }, AS4);
    // version 4, AS_TRANS, hold 3, id, opt len 14: cap param (2) with MP(1,4,0001 00 01), RR(2,0), AS4(65,4,fa56ea01)
    assert.equal(bytes.toString('hex'), `${MARKER}002d01` + '04 5ba0 0003 c0000201 10 020e 0104 00010001 0200 4104 fa56ea01'.replace(/ /g, ''));
  });

  it('encodes an IPv4 UPDATE byte for byte', () => {
    const m: UpdateMessage = {
      type: 'update', withdrawn: [parsePrefix('198.51.100.0/24')],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65001, 65001] }], nextHop: '192.0.2.2', med: 50, communities: [((65001 << 16) | 100) >>> 0] },
      nlri: [parsePrefix('203.0.113.10/32')],
    };
    const expected = '0004 18c63364 0026' +
      '40 01 01 00' + '40 02 0a 02 02 0000fde9 0000fde9' + '40 03 04 c0000202' + '80 04 04 00000032' + 'c0 08 04 fde90064' +
      '20 cb00710a';
    const bytes = encodeMessage(m, AS4);
    assert.equal(bytes.subarray(19).toString('hex'), expected.replace(/ /g, ''));
    assert.deepEqual(roundTrip(m), m);
  });

  it('round-trips a 2-octet AS_PATH and an IPv6 MP_REACH / MP_UNREACH', () => {
    const m: UpdateMessage = {
      type: 'update', withdrawn: [], nlri: [],
      attributes: {
        origin: 2, asPath: [{ type: 2, asns: [23456] }, { type: 1, asns: [1, 2] }], as4Path: [{ type: 2, asns: [4200000001] }],
        mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [parsePrefix('2001:db8:10::/48')] },
        mpUnreach: { afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:20::/48')] },
      },
    };
    assert.deepEqual(roundTrip(m, AS2), m);
  });

  it('recognises End-of-RIB for IPv4 and IPv6', () => {
    const v4 = roundTrip({ type: 'update', withdrawn: [], nlri: [], attributes: {} }) as UpdateMessage;
    assert.deepEqual(isEndOfRib(v4), { afi: 1, safi: 1 });
    const v6 = roundTrip({ type: 'update', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } }) as UpdateMessage;
    assert.deepEqual(isEndOfRib(v6), { afi: 2, safi: 1 });
  });

  it('waits for more bytes on a partial message', () => {
    const b = encodeMessage({ type: 'keepalive' }, AS4);
    assert.equal(readFrame(b.subarray(0, 10)).kind, 'incomplete');
  });
});

const UPDATE_HEAD = (len: number): string => `${MARKER}${len.toString(16).padStart(4, '0')}02`;
function update(bodyHex: string): Buffer {
  const body = hex(bodyHex);
  return Buffer.concat([hex(UPDATE_HEAD(19 + body.length)), body]);
}
const OK_ATTRS = '40010100 40020602010000fde9 400304c0000202';

const MALFORMED: readonly { name: string; bytes: Buffer; code: number; subcode: number; data?: string }[] = [
  { name: 'bad marker', bytes: hex(`${'ff'.repeat(15)}00 001304`), code: 1, subcode: 1 },
  { name: 'length below 19', bytes: hex(`${MARKER}001204`), code: 1, subcode: 2, data: '0012' },
  { name: 'KEEPALIVE with a body', bytes: hex(`${MARKER}00140400`), code: 1, subcode: 2, data: '0014' },
  { name: 'length over 4096', bytes: hex(`${MARKER}100102`), code: 1, subcode: 2, data: '1001' },
  { name: 'unknown type', bytes: hex(`${MARKER}001309`), code: 1, subcode: 3, data: '09' },
  { name: 'OPEN version 3', bytes: hex(`${MARKER}001d01 03 fde9 0003 c0000201 00`), code: 2, subcode: 1, data: '0004' },
  { name: 'OPEN hold time 2', bytes: hex(`${MARKER}001d01 04 fde9 0002 c0000201 00`), code: 2, subcode: 6 },
  { name: 'OPEN hold time 1', bytes: hex(`${MARKER}001d01 04 fde9 0001 c0000201 00`), code: 2, subcode: 6 },
  { name: 'OPEN BGP identifier zero', bytes: hex(`${MARKER}001d01 04 fde9 0003 00000000 00`), code: 2, subcode: 3 },
  { name: 'OPEN unknown optional parameter', bytes: hex(`${MARKER}002001 04 fde9 0003 c0000201 03 0901ff`), code: 2, subcode: 4 },
  { name: 'OPEN optional length overruns', bytes: hex(`${MARKER}001f01 04 fde9 0003 c0000201 05 0200`), code: 2, subcode: 0 },
  { name: 'OPEN truncated capability', bytes: hex(`${MARKER}002101 04 fde9 0003 c0000201 04 0202 4104`), code: 2, subcode: 0 },
  { name: 'UPDATE withdrawn length overruns', bytes: update('00ff 0000'), code: 3, subcode: 1 },
  { name: 'UPDATE attribute length overruns', bytes: update('0000 00ff 40010100'), code: 3, subcode: 1 },
  { name: 'UPDATE attribute value overruns', bytes: update('0000 0004 40010500'), code: 3, subcode: 5, data: '40010500' },
  { name: 'UPDATE duplicate ORIGIN', bytes: update('0000 0008 40010100 40010100'), code: 3, subcode: 1 },
  { name: 'UPDATE ORIGIN flagged optional', bytes: update('0000 0004 c0010100'), code: 3, subcode: 4, data: 'c0010100' },
  { name: 'UPDATE ORIGIN of length 2', bytes: update('0000 0005 4001020000'), code: 3, subcode: 5, data: '4001020000' },
  { name: 'UPDATE ORIGIN value 3', bytes: update('0000 0004 40010103'), code: 3, subcode: 6, data: '40010103' },
  { name: 'UPDATE unknown well-known attribute', bytes: update('0000 0004 40630100'), code: 3, subcode: 2, data: '40630100' },
  { name: 'UPDATE NEXT_HOP 0.0.0.0', bytes: update('0000 0007 40030400000000'), code: 3, subcode: 8, data: '40030400000000' },
  { name: 'UPDATE NEXT_HOP multicast', bytes: update('0000 0007 400304e0000001'), code: 3, subcode: 8, data: '400304e0000001' },
  { name: 'UPDATE AS_PATH segment overruns', bytes: update('0000 0007 4002040205fde9'), code: 3, subcode: 11 },
  { name: 'UPDATE AS_PATH bad segment type', bytes: update('0000 0009 40020607010000fde9'), code: 3, subcode: 11 },
  { name: 'UPDATE communities length 3', bytes: update('0000 0006 c00803000000'), code: 3, subcode: 9, data: 'c00803000000' },
  { name: 'UPDATE missing NEXT_HOP', bytes: update(`0000 000d 40010100 40020602010000fde9 20cb00710a`), code: 3, subcode: 3, data: '03' },
  { name: 'UPDATE missing ORIGIN', bytes: update(`0000 0007 400304c0000202 20cb00710a`), code: 3, subcode: 3, data: '01' },
  { name: 'UPDATE prefix length 33', bytes: update(`0000 0014 ${OK_ATTRS} 21cb00710a00`), code: 3, subcode: 10 },
  { name: 'UPDATE NLRI truncated', bytes: update(`0000 0014 ${OK_ATTRS} 20cb00`), code: 3, subcode: 10 },
];

describe('BGP message codec: malformed messages get the right NOTIFICATION', () => {
  for (const c of MALFORMED) {
    it(c.name, () => {
      const r = decodeMessage(c.bytes, AS4);
      assert.equal(r.kind, 'error', `decoded as ${JSON.stringify(r)}`);
      const n = (r as { notification: { code: number; subcode: number; data: Uint8Array } }).notification;
      assert.deepEqual([n.code, n.subcode], [c.code, c.subcode]);
      if (c.data !== undefined) assert.equal(Buffer.from(n.data).toString('hex'), c.data.replace(/ /g, ''));
    });
  }
  it('accepts a well-formed UPDATE built from the same pieces', () => {
    assert.equal(decodeMessage(update(`0000 0014 ${OK_ATTRS} 20cb00710a`), AS4).kind, 'ok');
  });
});

// Generators for well-formed messages, used by the round-trip property.
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const prefix4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, l]) => makePrefix(b, l));
const prefix6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => makePrefix(b, l));
const segment = (max: number) => fc.record({ type: fc.constantFrom(1 as const, 2 as const), asns: fc.array(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 8 }) })
  .map((s) => ({ type: s.type, asns: s.asns }));
const updateArb = fc.record({
  withdrawn: fc.array(prefix4, { maxLength: 5 }),
  nlri: fc.array(prefix4, { maxLength: 5 }),
  origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
  asPath: fc.array(segment(0xffffffff), { maxLength: 3 }),
  nextHop: ipv4,
  med: fc.option(fc.nat(), { nil: undefined }),
  communities: fc.option(fc.array(fc.nat(), { maxLength: 6 }), { nil: undefined }),
  v6: fc.option(fc.array(prefix6, { maxLength: 3 }), { nil: undefined }),
}).map((r): UpdateMessage => ({
  type: 'update', withdrawn: r.withdrawn, nlri: r.nlri,
  attributes: {
    origin: r.origin, asPath: r.asPath, nextHop: r.nextHop,
    ...(r.med !== undefined ? { med: r.med >>> 0 } : {}),
    ...(r.communities !== undefined ? { communities: r.communities.map((c) => c >>> 0) } : {}),
    ...(r.v6 !== undefined ? { mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: r.v6 } } : {}),
  },
}));

const TIME_BOX = { numRuns: 2000, interruptAfterTimeLimit: 3000, markInterruptAsFailure: false };

describe('BGP message codec: properties', () => {
  it('decode(encode(update)) is the identity', () => {
    fc.assert(fc.property(updateArb, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m, AS4), AS4), { kind: 'ok', value: m });
    }), TIME_BOX);
  });

  it('never throws on arbitrary bytes behind a valid header', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 120 }), fc.boolean(), (type, body, as4) => {
      const head = Buffer.alloc(19, 0xff);
      head.writeUInt16BE(19 + body.length, 16);
      head[18] = type;
      const r = decodeMessage(Buffer.concat([head, body]), { fourOctetAs: as4 });
      if (r.kind === 'error') assert.ok(r.notification.code >= 1 && r.notification.code <= 3);
    }), TIME_BOX);
  });

  it('never throws when a valid UPDATE is corrupted', () => {
    fc.assert(fc.property(updateArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (m, edits) => {
      const b = encodeMessage(m, AS4);
      for (const [at, v] of edits) b[19 + (at % Math.max(1, b.length - 19))] = v;
      const r = decodeMessage(b, AS4);
      assert.ok(r.kind === 'ok' || r.kind === 'error' || r.kind === 'incomplete');
    }), TIME_BOX);
  });
});
