// SPIFFE ID parsing: the spec's own examples as a table, then properties —
// every generated valid ID parses and round-trips, and a mutation that breaks
// exactly one rule of the spec is refused with that rule's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpiffeId, checkTrustDomain, parseTrustDomain, type IdRejection } from './spiffe-id.js';

const FC_OPTS = { numRuns: 400, interruptAfterTimeLimit: 5000 } as const;

test('spec examples and edge cases (table)', () => {
  const valid = [
    'spiffe://trust-domain-name/path',
    'spiffe://staging.example.com/payments/mysql',
    'spiffe://staging.example.com/payments/web-fe',
    'spiffe://k8s-west.example.com/ns/staging/sa/default',
    'spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453',
    'spiffe://trust_domain_name.example.com',
    'spiffe://example.com',
    'spiffe://192.168.1.1/dotted-quad-is-just-a-name',
    'spiffe://td/Case.Sensitive_Path-1',
    'spiffe://td/.../a..b/.x',
  ];
  for (const text of valid) {
    const r = SpiffeId.check(text);
    assert.ok(r.ok, `${text} should be valid: ${r.ok ? '' : r.reason}`);
    assert.equal(r.value.toString(), text);
  }
  const invalid: [string, IdRejection][] = [
    ['', 'EMPTY'],
    ['SPIFFE://example.com/a', 'SCHEME_NOT_LOWERCASE'],
    ['Spiffe://example.com/a', 'SCHEME_NOT_LOWERCASE'],
    ['http://example.com/a', 'BAD_SCHEME'],
    ['spiffe:/example.com/a', 'BAD_SCHEME'],
    ['example.com/a', 'BAD_SCHEME'],
    ['spiffe://', 'MISSING_TRUST_DOMAIN'],
    ['spiffe:///path', 'MISSING_TRUST_DOMAIN'],
    ['spiffe://user@example.com/a', 'USERINFO'],
    ['spiffe://user:pw@example.com/a', 'USERINFO'],
    ['spiffe://example.com:8443/a', 'PORT'],
    ['spiffe://example.com:/a', 'PORT'],
    ['spiffe://example.com/a?x=1', 'QUERY'],
    ['spiffe://example.com?x', 'QUERY'],
    ['spiffe://example.com/a#frag', 'FRAGMENT'],
    ['spiffe://example.com#', 'FRAGMENT'],
    ['spiffe://example.com/a%20b', 'PERCENT_ENCODED'],
    ['spiffe://exa%6Dple.com/a', 'PERCENT_ENCODED'],
    ['spiffe://Example.com/a', 'TRUST_DOMAIN_NOT_LOWERCASE'],
    ['spiffe://[::1]/a', 'TRUST_DOMAIN_CHARS'],
    ['spiffe://exa mple.com/a', 'TRUST_DOMAIN_CHARS'],
    ['spiffe://exämple.com/a', 'TRUST_DOMAIN_CHARS'],
    ['spiffe://example.com/', 'TRAILING_SLASH'],
    ['spiffe://example.com/a/', 'TRAILING_SLASH'],
    ['spiffe://example.com//a', 'EMPTY_SEGMENT'],
    ['spiffe://example.com/a//b', 'EMPTY_SEGMENT'],
    ['spiffe://example.com/a/./b', 'DOT_SEGMENT'],
    ['spiffe://example.com/..', 'DOT_SEGMENT'],
    ['spiffe://example.com/a b', 'PATH_CHARS'],
    ['spiffe://example.com/a~b', 'PATH_CHARS'],
    ['spiffe://example.com/ä', 'PATH_CHARS'],
    ['spiffe://example.com/a:b', 'PATH_CHARS'],
    [`spiffe://${'a'.repeat(256)}/x`, 'TRUST_DOMAIN_TOO_LONG'],
    [`spiffe://td/${'a'.repeat(2048)}`, 'TOO_LONG'],
  ];
  for (const [text, code] of invalid) {
    const r = SpiffeId.check(text);
    assert.equal(r.ok, false, `${text} should be invalid`);
    assert.equal(!r.ok && r.code, code, `${text}: ${!r.ok ? r.reason : ''}`);
  }
});

test('length limits are inclusive: 255-byte trust domain and 2048-byte ID are accepted', () => {
  const td = 'a'.repeat(255);
  assert.ok(checkTrustDomain(td).ok);
  assert.equal(checkTrustDomain(td + 'a').ok, false);
  const prefix = `spiffe://${td}/`;
  const exact = prefix + 'b'.repeat(2048 - prefix.length);
  assert.equal(Buffer.byteLength(exact), 2048);
  assert.ok(SpiffeId.check(exact).ok);
  const over = SpiffeId.check(exact + 'c');
  assert.equal(!over.ok && over.code, 'TOO_LONG');
});

test('fromParts checks each segment, so a segment cannot inject "/" or ".."', () => {
  const td = parseTrustDomain('eu.test');
  assert.equal(SpiffeId.fromParts(td, ['ns', 'a', 'sa', 'b']).toString(), 'spiffe://eu.test/ns/a/sa/b');
  assert.throws(() => SpiffeId.fromParts(td, ['ns', 'a/sa/admin']), /BAD_SPIFFE_ID|may only contain/);
  assert.throws(() => SpiffeId.fromParts(td, ['..']), /relative/);
  assert.throws(() => SpiffeId.forWorkload(td, '', 'x'), /empty segment/);
  assert.equal(SpiffeId.forTrustDomain(td).toString(), 'spiffe://eu.test');
  assert.throws(() => parseTrustDomain('EU.test'), /lower case/);
});

// --- properties -----------------------------------------------------------

const TD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789.-_';
const SEG_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_';
const tdArb = fc.string({ unit: fc.constantFrom(...TD_ALPHABET), minLength: 1, maxLength: 40 });
const segArb = fc.string({ unit: fc.constantFrom(...SEG_ALPHABET), minLength: 1, maxLength: 16 }).filter((s) => s !== '.' && s !== '..');
const partsArb = fc.record({ td: tdArb, segs: fc.array(segArb, { maxLength: 6 }) });
type Parts = { td: string; segs: string[] };
const render = (p: Parts, scheme = 'spiffe://'): string => `${scheme}${p.td}${p.segs.map((s) => `/${s}`).join('')}`;

test('property: every valid ID parses, round-trips and keeps its parts', () => {
  fc.assert(
    fc.property(partsArb, (p) => {
      const text = render(p);
      const id = SpiffeId.parse(text);
      assert.equal(id.toString(), text);
      assert.equal(id.trustDomain, p.td);
      assert.deepEqual(id.segments, p.segs);
      assert.ok(id.equals(SpiffeId.fromParts(parseTrustDomain(p.td), p.segs)));
      assert.ok(SpiffeId.parse(id.toString()).equals(id));
    }),
    FC_OPTS,
  );
});

/** One mutation breaks one rule; `code` is the rejection it must produce. */
type Mutation = { code: IdRejection; apply: (p: Parts) => string };

const BAD_PATH_CHARS = [' ', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '@', '~', '[', ']', '\\', '"', '<', '>', '^', '`', '{', '|', '}', 'é', '\n', '\t', '\u0000', '\u{1F600}'];
const BAD_TD_CHARS = [' ', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', '~', '[', ']', '\\', '"', '<', '>', '^', '`', '{', '|', '}', 'é', '\n', '\u{1F600}'];
const withSeg = (p: Parts): string[] => (p.segs.length > 0 ? [...p.segs] : ['x']);
const insertAt = (s: string, i: number, ins: string): string => s.slice(0, i % (s.length + 1)) + ins + s.slice(i % (s.length + 1));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.integer({ min: 0, max: 5 }).map((i): Mutation => ({
    code: 'SCHEME_NOT_LOWERCASE',
    apply: (p) => render(p, `${'spiffe'.slice(0, i)}${'spiffe'[i]!.toUpperCase()}${'spiffe'.slice(i + 1)}://`),
  })),
  fc.constantFrom('http://', 'spiffe:/', 'spiffe:', 'spife://', 'urn:spiffe:', '', '//').map((s): Mutation => ({ code: 'BAD_SCHEME', apply: (p) => render(p, s) })),
  fc.string({ unit: fc.constantFrom(...SEG_ALPHABET, ':'), maxLength: 8 }).map((u): Mutation => ({ code: 'USERINFO', apply: (p) => render({ ...p, td: `${u}@${p.td}` }) })),
  fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 5 }).map((port): Mutation => ({ code: 'PORT', apply: (p) => render({ ...p, td: `${p.td}:${port}` }) })),
  fc.string({ unit: fc.constantFrom(...SEG_ALPHABET, '=', '&', '/'), maxLength: 8 }).map((q): Mutation => ({ code: 'QUERY', apply: (p) => `${render(p)}?${q}` })),
  fc.string({ unit: fc.constantFrom(...SEG_ALPHABET, '?', '/'), maxLength: 8 }).map((f): Mutation => ({ code: 'FRAGMENT', apply: (p) => `${render(p)}#${f}` })),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('%20', '%41', '%2F', '%', '%zz')).map(([i, j, enc]): Mutation => ({
    code: 'PERCENT_ENCODED',
    apply: (p) => {
      const segs = withSeg(p);
      segs[i % segs.length] = insertAt(segs[i % segs.length]!, j, enc);
      return render({ ...p, segs });
    },
  })),
  fc.tuple(fc.nat(), fc.constantFrom('%41', '%2e', '%')).map(([j, enc]): Mutation => ({ code: 'PERCENT_ENCODED', apply: (p) => render({ ...p, td: insertAt(p.td, j, enc) }) })),
  fc.constant<Mutation>({ code: 'TRAILING_SLASH', apply: (p) => `${render(p)}/` }),
  fc.nat().map((i): Mutation => ({
    code: 'EMPTY_SEGMENT',
    apply: (p) => {
      const segs = withSeg(p);
      segs.splice(i % segs.length, 0, '');
      return render({ ...p, segs });
    },
  })),
  fc.tuple(fc.nat(), fc.constantFrom('.', '..')).map(([i, dot]): Mutation => ({
    code: 'DOT_SEGMENT',
    apply: (p) => {
      const segs = [...p.segs];
      segs.splice(i % (segs.length + 1), 0, dot);
      return render({ ...p, segs });
    },
  })),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...BAD_PATH_CHARS)).map(([i, j, c]): Mutation => ({
    code: 'PATH_CHARS',
    apply: (p) => {
      const segs = withSeg(p);
      segs[i % segs.length] = insertAt(segs[i % segs.length]!, j, c);
      return render({ ...p, segs });
    },
  })),
  fc.tuple(fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ')).map(([j, c]): Mutation => ({ code: 'TRUST_DOMAIN_NOT_LOWERCASE', apply: (p) => render({ ...p, td: insertAt(p.td, j, c) }) })),
  fc.tuple(fc.nat(), fc.constantFrom(...BAD_TD_CHARS)).map(([j, c]): Mutation => ({ code: 'TRUST_DOMAIN_CHARS', apply: (p) => render({ ...p, td: insertAt(p.td, j, c) }) })),
  fc.constant<Mutation>({ code: 'MISSING_TRUST_DOMAIN', apply: (p) => render({ ...p, td: '' }) }),
  fc.integer({ min: 256, max: 400 }).map((n): Mutation => ({ code: 'TRUST_DOMAIN_TOO_LONG', apply: (p) => render({ ...p, td: p.td.repeat(Math.ceil(n / p.td.length)).slice(0, n) }) })),
  fc.integer({ min: 2049, max: 2400 }).map((n): Mutation => ({
    code: 'TOO_LONG',
    apply: (p) => {
      const base = render(p);
      return `${base}/${'z'.repeat(Math.max(1, n - base.length - 1))}`;
    },
  })),
);

test('property: a mutation that breaks exactly one rule is refused with that rule', () => {
  fc.assert(
    fc.property(partsArb, mutationArb, (p, m) => {
      const text = m.apply(p);
      const r = SpiffeId.check(text);
      assert.equal(r.ok, false, `${JSON.stringify(text)} should be refused with ${m.code}`);
      assert.equal(!r.ok && r.code, m.code, `${JSON.stringify(text)}: got ${!r.ok ? `${r.code} (${r.reason})` : 'ok'}`);
      assert.throws(() => SpiffeId.parse(text), /BAD_SPIFFE_ID|"/);
    }),
    FC_OPTS,
  );
});

test('property: arbitrary strings never crash the parser, and anything accepted re-parses identically', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: fc.constantFrom(...'spiffe:/.%?#@aA1-_ '), maxLength: 40 }).map((s) => `spiffe://${s}`)), (s) => {
      const r = SpiffeId.check(s);
      if (r.ok) {
        assert.equal(r.value.toString(), s);
        assert.match(s, /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/);
      }
    }),
    FC_OPTS,
  );
});

test('isWorkloadId: only /ns/<ns>/sa/<sa> names a workload (table)', () => {
  const cases: [string, boolean][] = [
    ['spiffe://eu.test/ns/shop/sa/frontend', true],
    ['spiffe://eu.test/ns/ns/sa/sa', true],
    ['spiffe://eu.test/node/node-a', false],
    ['spiffe://eu.test/controller', false],
    ['spiffe://eu.test', false],
    ['spiffe://eu.test/ns/shop', false],
    ['spiffe://eu.test/ns/shop/sa', false],
    ['spiffe://eu.test/ns/shop/sa/x/extra', false],
    ['spiffe://eu.test/ns/shop/node/x', false],
    ['spiffe://eu.test/NS/shop/sa/x', false],
  ];
  for (const [id, want] of cases) assert.equal(SpiffeId.parse(id).isWorkloadId, want, id);
});
