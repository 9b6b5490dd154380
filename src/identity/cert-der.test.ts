// The DER decoders behind SVID verification: every field a rule decides on,
// well-formed and malformed, so a lax decoder shows up as a failed case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBasicConstraints, decodeExtKeyUsage, decodeKeyUsage, decodeOid, decodeTime, readCertDer } from './cert-der.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

test('decodeOid', () => {
  const cases: [Uint8Array, string | undefined][] = [
    [b(0x55, 0x1d, 0x0f), '2.5.29.15'],
    [b(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01), '1.3.6.1.5.5.7.3.1'],
    [b(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d), '1.2.840.113549'],
    [b(0x88, 0x37), '2.999'],
    [b(), undefined],
    [b(0x2a, 0x86), undefined], // truncated arc
    [b(0x2a, 0x80, 0x01), undefined], // non-minimal arc
  ];
  for (const [input, want] of cases) assert.equal(decodeOid(input), want, Buffer.from(input).toString('hex'));
});

test('decodeTime', () => {
  const t = (tag: number, s: string) => ({ tag, value: b(...ascii(s)), end: 0 });
  const cases: [ReturnType<typeof t>, number | undefined][] = [
    [t(0x17, '251202044750Z'), Date.UTC(2025, 11, 2, 4, 47, 50)],
    [t(0x17, '500101000000Z'), Date.UTC(1950, 0, 1)],
    [t(0x17, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59)],
    [t(0x18, '20500101000000Z'), Date.UTC(2050, 0, 1)],
    [t(0x17, '250231000000Z'), undefined], // 31 February
    [t(0x17, '251202244750Z'), undefined], // hour 24
    [t(0x17, '2512020447Z'), undefined], // no seconds
    [t(0x17, '251202044750+0100'), undefined], // not Zulu
    [t(0x18, '251202044750Z'), undefined], // UTCTime digits in a GeneralizedTime
    [t(0x04, '251202044750Z'), undefined], // not a time at all
  ];
  for (const [input, want] of cases) assert.equal(decodeTime(input), want, Buffer.from(input.value).toString('latin1'));
});

test('decodeKeyUsage: bit n of the BIT STRING is 1 << n', () => {
  const cases: [Uint8Array, number | undefined][] = [
    [b(0x03, 0x02, 0x07, 0x80), 1], // digitalSignature
    [b(0x03, 0x02, 0x01, 0x86), 1 | 32 | 64], // digitalSignature, keyCertSign, cRLSign
    [b(0x03, 0x03, 0x07, 0x80, 0x80), 1 | 256], // decipherOnly in the second byte
    [b(0x03, 0x01, 0x00), 0], // no bits
    [b(0x03, 0x02, 0x08, 0x80), undefined], // 8 unused bits
    [b(0x03, 0x01, 0x01), undefined], // unused bits without a byte
    [b(0x03, 0x05, 0x07, 0x80), undefined], // length beyond the value
    [b(0x04, 0x02, 0x07, 0x80), undefined], // OCTET STRING, not BIT STRING
  ];
  for (const [input, want] of cases) assert.equal(decodeKeyUsage(input), want, Buffer.from(input).toString('hex'));
});

test('decodeBasicConstraints', () => {
  const cases: [Uint8Array, { ca: boolean; pathLength: number | undefined } | undefined][] = [
    [b(0x30, 0x00), { ca: false, pathLength: undefined }],
    [b(0x30, 0x03, 0x01, 0x01, 0xff), { ca: true, pathLength: undefined }],
    [b(0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00), { ca: true, pathLength: 0 }],
    [b(0x30, 0x07, 0x01, 0x01, 0xff, 0x02, 0x02, 0x01, 0x00), { ca: true, pathLength: 256 }],
    [b(0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x80), undefined], // negative path length
    [b(0x30, 0x04, 0x01, 0x02, 0xff, 0xff), undefined], // two-byte BOOLEAN
    [b(0x30, 0x03, 0x01, 0x01, 0xff, 0x00), undefined], // trailing byte after the SEQUENCE
    [b(0x31, 0x00), undefined], // SET, not SEQUENCE
  ];
  for (const [input, want] of cases) assert.deepEqual(decodeBasicConstraints(input), want, Buffer.from(input).toString('hex'));
});

test('decodeExtKeyUsage', () => {
  const serverAuth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
  const clientAuth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
  const cases: [Uint8Array, string[] | undefined][] = [
    [b(0x30, 20, ...serverAuth, ...clientAuth), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']],
    [b(0x30, 0x00), undefined], // SIZE (1..MAX)
    [b(0x30, 0x03, 0x04, 0x01, 0x00), undefined], // not an OID
  ];
  for (const [input, want] of cases) assert.deepEqual(decodeExtKeyUsage(input), want, Buffer.from(input).toString('hex'));
});

test('readCertDer refuses what is not a certificate', () => {
  const cases: Uint8Array[] = [b(), b(0x30, 0x00), b(0x30, 0x03, 0x02, 0x01, 0x01), b(0x04, 0x00), b(0x30, 0x80)];
  for (const input of cases) assert.equal(readCertDer(input), undefined, Buffer.from(input).toString('hex'));
});
