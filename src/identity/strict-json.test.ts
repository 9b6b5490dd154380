// The strict JSON reader must agree with JSON.parse on every valid document
// (except that it keeps integers exact and refuses duplicate keys), and refuse
// everything JSON.parse refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStrictJson, stringifyJson, type StrictJson } from './strict-json.js';

const FC_OPTS = { numRuns: 300, interruptAfterTimeLimit: 5000 } as const;

/** Maps our exact values onto what JSON.parse would produce, for comparison. */
function asJsonParse(v: StrictJson): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(asJsonParse);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJsonParse(x)]));
  return v;
}

test('property: agrees with JSON.parse on valid documents', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (v, indent) => {
      const text = JSON.stringify(v, null, indent);
      assert.deepEqual(asJsonParse(parseStrictJson(text)), JSON.parse(text));
    }),
    FC_OPTS,
  );
});

test('property: refuses what JSON.parse refuses', () => {
  const alphabet = fc.constantFrom(...'{}[]":,0123456789-+.eE tfrueanl\\u"x\n');
  fc.assert(
    fc.property(fc.string({ unit: alphabet, maxLength: 30 }), (s) => {
      let native = true;
      try {
        JSON.parse(s);
      } catch {
        native = false;
      }
      let ours = true;
      try {
        parseStrictJson(s);
      } catch {
        ours = false;
      }
      // Ours may refuse more (duplicate keys), never less.
      if (!native) assert.equal(ours, false, `accepted invalid JSON ${JSON.stringify(s)}`);
    }),
    FC_OPTS,
  );
});

test('property: integers of any size survive exactly, and stringifyJson writes them back', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), (n) => {
      const parsed = parseStrictJson(`{"n":${n}}`) as { n: number | bigint };
      assert.equal(BigInt(parsed.n), n);
      assert.equal(stringifyJson({ n: BigInt(parsed.n) }), `{"n":${n}}`);
    }),
    FC_OPTS,
  );
  // The motivating case: 2^64-1 as spiffe_sequence. JSON.parse rounds it.
  const text = '{"spiffe_sequence":18446744073709551615}';
  assert.notEqual(BigInt(JSON.parse(text).spiffe_sequence), 18446744073709551615n);
  assert.equal((parseStrictJson(text) as { spiffe_sequence: bigint }).spiffe_sequence, 18446744073709551615n);
});

test('duplicate keys are refused at any depth, including escaped spellings of the same key', () => {
  assert.throws(() => parseStrictJson('{"a":1,"a":2}'), /duplicate key "a"/);
  assert.throws(() => parseStrictJson('{"x":[{"k":{"a":1,"b":2,"a":3}}]}'), /duplicate key "a"/);
  assert.throws(() => parseStrictJson('{"a":1,"\\u0061":2}'), /duplicate key "a"/);
  assert.deepEqual(asJsonParse(parseStrictJson('{"a":{"a":1}}')), { a: { a: 1 } });
  // "__proto__" is plain data, not a prototype switch.
  const o = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, StrictJson>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(asJsonParse(o.__proto__!), { polluted: true });
});

test('property: a duplicated key inserted anywhere in an object is detected', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 6 }), fc.nat(), (obj, pick) => {
      const keys = Object.keys(obj);
      const dup = keys[pick % keys.length]!;
      const body = JSON.stringify(obj).slice(1, -1);
      const text = `{${body},${JSON.stringify(dup)}:null}`;
      assert.throws(() => parseStrictJson(text), /duplicate key/);
    }),
    FC_OPTS,
  );
});

test('deep nesting is bounded', () => {
  assert.throws(() => parseStrictJson('['.repeat(100) + ']'.repeat(100)), /nesting deeper/);
  assert.doesNotThrow(() => parseStrictJson('['.repeat(60) + ']'.repeat(60)));
});
