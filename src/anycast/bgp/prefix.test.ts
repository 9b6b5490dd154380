// Prefix parsing and NLRI encoding: examples, rejections, and properties
// against Node's own address handling (WHATWG URL canonicalises IPv6 text).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesToIp, decodePrefixes, encodePrefixes, formatPrefix, ipToBytes, makePrefix, parsePrefix } from './prefix.js';

const TIME_BOX = { numRuns: 1000, interruptAfterTimeLimit: 2000, markInterruptAsFailure: false };

describe('prefixes', () => {
  it('parses IPv4 and IPv6 prefixes and canonicalises the text', () => {
    assert.deepEqual(parsePrefix('203.0.113.10/32'), { family: 4, address: '203.0.113.10', length: 32 });
    assert.deepEqual(parsePrefix('2001:DB8:0:0::/48'), { family: 6, address: '2001:db8::', length: 48 });
    assert.equal(formatPrefix(parsePrefix('0.0.0.0/0')), '0.0.0.0/0');
  });

  for (const bad of ['203.0.113.10', '203.0.113.10/33', '203.0.113.10/24', '2001:db8::1/64', 'x/8', '2001:db8::/129', '']) {
    it(`rejects "${bad}"`, () => assert.throws(() => parsePrefix(bad), /BAD_PREFIX|not an IP prefix|host bits/));
  }

  it('encodes only the significant octets', () => {
    assert.equal(Buffer.from(encodePrefixes([parsePrefix('198.51.100.0/24'), parsePrefix('0.0.0.0/0')])).toString('hex'), '18c6336400');
  });

  it('formats IPv6 like the WHATWG URL parser (RFC 5952)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const text = bytesToIp(b);
      assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
      assert.deepEqual(ipToBytes(text), b);
    }), TIME_BOX);
  });

  it('round-trips prefix lists through NLRI encoding', () => {
    const p4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([b, l]) => makePrefix(b, l));
    const p6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => makePrefix(b, l));
    fc.assert(fc.property(fc.array(p4), fc.array(p6), (v4, v6) => {
      assert.deepEqual(decodePrefixes(encodePrefixes(v4), 4), v4);
      assert.deepEqual(decodePrefixes(encodePrefixes(v6), 6), v6);
      for (const p of [...v4, ...v6]) assert.deepEqual(parsePrefix(formatPrefix(p)), p);
    }), TIME_BOX);
  });

  it('never throws on arbitrary NLRI bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(4 as const, 6 as const), (b, f) => {
      const r = decodePrefixes(b, f);
      if (r) for (const p of r) assert.ok(p.length <= (f === 4 ? 32 : 128));
    }), TIME_BOX);
  });
});
