// Request path normalization: a table of tricks, and properties (idempotent, canonical shape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeRequestPath } from './request-path.js';

const ok: [string, string][] = [
  ['/', '/'],
  ['/api/v1', '/api/v1'],
  ['/api/v1?x=1#f', '/api/v1'],
  ['/a#frag?no', '/a'],
  ['//admin', '/admin'],
  ['/a///b', '/a/b'],
  ['/a/./b', '/a/b'],
  ['/a/../admin', '/admin'],
  ['/../../admin', '/admin'],
  ['/a/..', '/'],
  ['/a/b/.', '/a/b/'],
  ['/dir/', '/dir/'],
  ['/%61dmin', '/admin'],
  ['/%2e%2e/admin', '/admin'],
  ['/a%2E/b', '/a./b'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/a%20b', '/a%20b'],
  ['/~user/%7e', '/~user/~'],
];

for (const [input, want] of ok) {
  test(`normalizeRequestPath(${JSON.stringify(input)}) = ${JSON.stringify(want)}`, () => {
    assert.deepEqual(normalizeRequestPath(input), { ok: true, path: want });
  });
}

const refused: [string, RegExp][] = [
  ['', /does not start/],
  ['admin', /does not start/],
  ['*', /does not start/],
  ['http://host/a', /does not start/],
  ['/a%2Fb', /encoded/],
  ['/a%5cb', /encoded/],
  ['/a\\b', /backslash/],
  ['/a%zz', /malformed/],
  ['/a%4', /malformed/],
  ['/a b', /control/],
  ['/a\u0000', /control/],
];

for (const [input, why] of refused) {
  test(`normalizeRequestPath refuses ${JSON.stringify(input)}`, () => {
    const r = normalizeRequestPath(input);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, why);
  });
}

const pathChars = fc.constantFrom('/', '/', '.', '..', 'a', 'B', '%2e', '%61', '%2F', '%', '%zz', '-', '~', '?', '#', ' ', '\\', 'é');
const pathLike = fc.array(pathChars, { maxLength: 24 }).map((parts) => `/${parts.join('')}`);
const anyText = fc.oneof(pathLike, fc.string({ maxLength: 40 }));

test('normalizeRequestPath: never throws; results are canonical and idempotent', () => {
  fc.assert(
    fc.property(anyText, (input) => {
      const r = normalizeRequestPath(input);
      if (!r.ok) return;
      assert.ok(r.path.startsWith('/'));
      assert.ok(!r.path.includes('//'), r.path);
      assert.ok(!/\/\.\.?(\/|$)/.test(r.path), `dot segment left in ${r.path}`);
      assert.ok(!/[?#\s\\]/.test(r.path), r.path);
      assert.deepEqual(normalizeRequestPath(r.path), r, 'normalizing twice changes nothing');
    }),
    { numRuns: 2000, interruptAfterTimeLimit: 5000 },
  );
});
