// Preambles as a table: what the gateway reads before a ClientHello (nothing,
// a probe, a relay marker) and what it refuses; probe answers round trip.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PREAMBLE_BYTES, PROBE_PREFIX, RELAY_PREFIX, parsePreamble, parseProbeAnswer, probeAnswer, probeLine, relayLine, type Preamble,
} from './preamble.js';

const NONCE = '0123456789abcdef';
const hello = Buffer.from([0x16, 3, 1, 0, 200, 1, 0]);

describe('parsePreamble', () => {
  const relay = Buffer.concat([Buffer.from(relayLine('us-east-1'), 'latin1'), hello]);
  const table: Array<{ name: string; bytes: Buffer; want: Preamble | { kind: 'invalid'; reason: RegExp } }> = [
    { name: 'a TLS record (0x16): no preamble', bytes: hello, want: { kind: 'none' } },
    { name: 'any other first byte: no preamble', bytes: Buffer.from('GET / HTTP/1.1\r\n'), want: { kind: 'none' } },
    { name: 'nothing yet', bytes: Buffer.alloc(0), want: { kind: 'incomplete' } },
    { name: 'a probe line cut short', bytes: Buffer.from(PROBE_PREFIX + NONCE.slice(0, 5)), want: { kind: 'incomplete' } },
    { name: 'a probe', bytes: Buffer.from(probeLine(NONCE)), want: { kind: 'probe', nonce: NONCE } },
    { name: 'a relay marker: length is the line with its newline', bytes: relay,
      want: { kind: 'relay', from: 'us-east-1', length: RELAY_PREFIX.length + 'us-east-1'.length + 1 } },
    { name: 'a probe nonce that is not hex', bytes: Buffer.from(`${PROBE_PREFIX}0123456789abcdeg\n`), want: { kind: 'invalid', reason: /nonce/ } },
    { name: 'a probe nonce too short', bytes: Buffer.from(`${PROBE_PREFIX}0123\n`), want: { kind: 'invalid', reason: /nonce/ } },
    { name: 'a probe nonce in upper case', bytes: Buffer.from(`${PROBE_PREFIX}${NONCE.toUpperCase()}\n`), want: { kind: 'invalid', reason: /nonce/ } },
    { name: 'a relay marker naming no region', bytes: Buffer.from(`${RELAY_PREFIX}\n`), want: { kind: 'invalid', reason: /region/ } },
    { name: 'a relay marker naming a bad region', bytes: Buffer.from(`${RELAY_PREFIX}US_East\n`), want: { kind: 'invalid', reason: /region/ } },
    { name: 'a relay region ending with a dash', bytes: Buffer.from(`${RELAY_PREFIX}eu-\n`), want: { kind: 'invalid', reason: /region/ } },
    { name: 'no newline within the limit', bytes: Buffer.alloc(MAX_PREAMBLE_BYTES, 'E'), want: { kind: 'invalid', reason: /no newline in the first 128 bytes/ } },
    { name: 'a line longer than the limit', bytes: Buffer.from(`${'E'.repeat(MAX_PREAMBLE_BYTES)}\n`), want: { kind: 'invalid', reason: /longer than 128 bytes/ } },
    { name: 'an unknown E line', bytes: Buffer.from('EHLO mail.example\r\n'), want: { kind: 'invalid', reason: /neither a TLS ClientHello nor a known preamble/ } },
    { name: 'an older protocol version', bytes: Buffer.from(`ENTENTE-PROBE 0 ${NONCE}\n`), want: { kind: 'invalid', reason: /known preamble/ } },
  ];
  for (const c of table) {
    it(c.name, () => {
      const got = parsePreamble(c.bytes);
      if (c.want.kind === 'invalid' && c.want.reason instanceof RegExp) {
        assert.equal(got.kind, 'invalid');
        assert.match((got as { reason: string }).reason, c.want.reason);
      } else {
        assert.deepEqual(got, c.want);
      }
    });
  }

  it('a line of exactly MAX_PREAMBLE_BYTES (newline included) is read; one byte more is refused', () => {
    const region = 'a'.repeat(MAX_PREAMBLE_BYTES - RELAY_PREFIX.length - 1);
    // Region labels stop at 63 characters, so the line parses up to its region check.
    const atLimit = parsePreamble(Buffer.from(`${RELAY_PREFIX}${region}\n`));
    assert.equal(atLimit.kind, 'invalid');
    assert.match((atLimit as { reason: string }).reason, /region/);
    const over = parsePreamble(Buffer.from(`${RELAY_PREFIX}${region}a\n`));
    assert.match((over as { reason: string }).reason, /longer than/);
  });

  it('the relay length skips exactly to the ClientHello', () => {
    const bytes = Buffer.concat([Buffer.from(relayLine('b'), 'latin1'), hello]);
    const p = parsePreamble(bytes);
    assert.equal(p.kind, 'relay');
    assert.deepEqual(bytes.subarray((p as { length: number }).length), hello);
  });

  it('a probe line arriving byte by byte is incomplete until its newline', () => {
    const line = Buffer.from(probeLine(NONCE));
    for (let n = 1; n < line.length; n++) assert.equal(parsePreamble(line.subarray(0, n)).kind, 'incomplete', `${n} bytes`);
    assert.equal(parsePreamble(line).kind, 'probe');
  });
});

describe('probe answers', () => {
  it('round trip: the answer for a nonce names the region', () => {
    assert.equal(parseProbeAnswer(probeAnswer(NONCE, 'eu'), NONCE), 'eu');
    assert.equal(parseProbeAnswer(probeAnswer(NONCE, 'us-west-2') + 'trailing', NONCE), 'us-west-2');
  });

  const refused: Array<[string, string]> = [
    ['another nonce', probeAnswer('fedcba9876543210', 'eu')],
    ['no newline yet', probeAnswer(NONCE, 'eu').trimEnd()],
    ['a bad region', probeAnswer(NONCE, 'EU!')],
    ['no region', `ENTENTE-PROBE-OK 1 ${NONCE} \n`],
    ['not an answer', 'HTTP/1.1 400 Bad Request\r\n'],
  ];
  for (const [what, text] of refused) {
    it(`refused: ${what}`, () => assert.equal(parseProbeAnswer(text, NONCE), undefined));
  }
});

describe('lines', () => {
  it('relayLine, probeLine and probeAnswer are single lines in the documented format', () => {
    assert.equal(relayLine('eu'), 'ENTENTE-RELAY 1 eu\n');
    assert.equal(probeLine(NONCE), `ENTENTE-PROBE 1 ${NONCE}\n`);
    assert.equal(probeAnswer(NONCE, 'eu'), `ENTENTE-PROBE-OK 1 ${NONCE} eu\n`);
  });
  it('none of them can be mistaken for TLS', () => {
    for (const l of [relayLine('eu'), probeLine(NONCE), probeAnswer(NONCE, 'eu')]) assert.notEqual(l.charCodeAt(0), 0x16);
  });
});
