// LSN parsing as PostgreSQL reads it, its spelling as PostgreSQL prints it,
// and properties: format and parse invert each other, and ordering and
// distance agree with the byte offsets.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EntenteError } from '../core/errors.js';
import { compareLsn, formatLsn, lsnDistance, lsnFromBytes, parseLsn, type Lsn } from './lsn.js';

const FC_OPTS = { numRuns: 500, interruptAfterTimeLimit: 5000 } as const;
const anyLsn = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(lsnFromBytes);

describe('parseLsn', () => {
  const cases: [string, bigint, string][] = [
    ['0/0', 0n, '0/0'],
    ['0/1', 1n, '0/1'],
    ['16/B374D848', 0x16b374d848n, '16/B374D848'],
    ['16/b374d848', 0x16b374d848n, '16/B374D848'],
    ['00000016/0000D848', 0x160000d848n, '16/D848'],
    ['1/0', 1n << 32n, '1/0'],
    ['0/FFFFFFFF', 0xffffffffn, '0/FFFFFFFF'],
    ['FFFFFFFF/FFFFFFFF', (1n << 64n) - 1n, 'FFFFFFFF/FFFFFFFF'],
  ];
  for (const [text, bytes, printed] of cases) {
    it(`${text} is byte ${bytes} and prints as ${printed}`, () => {
      const lsn = parseLsn(text);
      assert.equal(lsn, bytes);
      assert.equal(formatLsn(lsn), printed);
    });
  }

  const malformed = ['', '0', '/', '0/', '/0', '16-B374D848', '16/B374D848 ', ' 16/B374D848', '123456789/0', '0/123456789', '0x16/0', '-1/0', '1/2/3', 'G/0', '16/B374D84８', 'null'];
  for (const text of malformed) {
    it(`refuses ${JSON.stringify(text)} naming it and the expected form`, () => {
      assert.throws(
        () => parseLsn(text),
        (err: unknown) => err instanceof EntenteError && err.code === 'BAD_LSN' && err.message.includes(`"${text}"`) && /16\/B374D848/.test(err.hint ?? ''),
      );
    });
  }

  it('shortens a long malformed value in the message', () => {
    assert.throws(() => parseLsn('x'.repeat(500)), (err: unknown) => err instanceof EntenteError && err.message.length < 120);
  });
});

describe('lsnFromBytes', () => {
  it('refuses offsets outside 64 bits', () => {
    assert.throws(() => lsnFromBytes(-1n), /outside the range/);
    assert.throws(() => lsnFromBytes(1n << 64n), /outside the range/);
  });
});

describe('compareLsn and lsnDistance', () => {
  const cases: [string, string, -1 | 0 | 1, bigint][] = [
    ['0/0', '0/0', 0, 0n],
    ['0/10', '0/0', 1, -16n],
    ['0/FFFFFFFF', '1/0', -1, 1n],
    ['16/B374D848', '16/B374D948', -1, 256n],
    ['17/0', '16/FFFFFF00', 1, -256n],
  ];
  for (const [a, b, order, distance] of cases) {
    it(`${a} vs ${b}: ${order}, ${distance} bytes from the first to the second`, () => {
      assert.equal(compareLsn(parseLsn(a), parseLsn(b)), order);
      assert.equal(lsnDistance(parseLsn(a), parseLsn(b)), distance);
    });
  }
});

test('property: parse(format(lsn)) is lsn', () => {
  fc.assert(
    fc.property(anyLsn, (lsn) => assert.equal(parseLsn(formatLsn(lsn)), lsn)),
    FC_OPTS,
  );
});

test('property: format(parse(text)) is the text in PostgreSQL spelling (upper case, no leading zeros)', () => {
  const half = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 1, maxLength: 8 });
  const canonical = (h: string): string => h.replace(/^0+(?=.)/, '').toUpperCase();
  fc.assert(
    fc.property(half, half, (hi, lo) => assert.equal(formatLsn(parseLsn(`${hi}/${lo}`)), `${canonical(hi)}/${canonical(lo)}`)),
    FC_OPTS,
  );
});

test('property: compareLsn orders as the byte offsets do, and agrees with the sign of lsnDistance', () => {
  fc.assert(
    fc.property(anyLsn, anyLsn, (a: Lsn, b: Lsn) => {
      const order = compareLsn(a, b);
      assert.equal(order, a < b ? -1 : a > b ? 1 : 0);
      assert.equal(compareLsn(b, a), order === 0 ? 0 : -order);
      const d = lsnDistance(a, b);
      assert.equal(d > 0n ? -1 : d < 0n ? 1 : 0, order);
      assert.equal(lsnFromBytes(a + d), b, 'a moved by the distance is b');
    }),
    FC_OPTS,
  );
});

test('property: the order of two texts is that of their (high, low) halves as numbers', () => {
  const half = fc.integer({ min: 0, max: 0xffffffff });
  fc.assert(
    fc.property(half, half, half, half, (ah, al, bh, bl) => {
      const text = (h: number, l: number): string => `${h.toString(16)}/${l.toString(16)}`;
      const want = ah !== bh ? Math.sign(ah - bh) : Math.sign(al - bl);
      assert.equal(compareLsn(parseLsn(text(ah, al)), parseLsn(text(bh, bl))), want === 0 ? 0 : want);
    }),
    FC_OPTS,
  );
});
