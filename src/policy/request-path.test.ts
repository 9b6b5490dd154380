// Request path normalization: a table of tricks, and properties (idempotent, canonical shape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeRequestPath, normalizeRequestTarget } from './request-path.js';

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

// What the agent forwards in HTTP mode: the checked path, the query as sent.
const targets: [string, string, string][] = [
  ['/admin/../charge', '/charge', '/charge'],
  ['/admin/../charge?amount=5', '/charge', '/charge?amount=5'],
  ['//charge?a=%2e%2e/../x', '/charge', '/charge?a=%2e%2e/../x'],
  ['/ch%61rge?', '/charge', '/charge?'],
  ['/a/%2E%2e/b?q', '/b', '/b?q'],
];

for (const [input, path, target] of targets) {
  test(`normalizeRequestTarget(${JSON.stringify(input)}) forwards ${JSON.stringify(target)}`, () => {
    assert.deepEqual(normalizeRequestTarget(input), { ok: true, path, target });
  });
}

for (const [input, why] of [['/a#f', /fragment/], ['/a?x#f', /fragment/], ['/a%2fb?x', /encoded/], ['*', /does not start/]] as const) {
  test(`normalizeRequestTarget refuses ${JSON.stringify(input)}`, () => {
    const r = normalizeRequestTarget(input);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, why);
  });
}

test('normalizeRequestTarget: the forwarded target normalizes to itself, and its path is what authorization checks', () => {
  fc.assert(
    fc.property(anyText, (input) => {
      const r = normalizeRequestTarget(input);
      if (!r.ok) return;
      assert.deepEqual(normalizeRequestTarget(r.target), r);
      assert.deepEqual(normalizeRequestPath(input), { ok: true, path: r.path });
    }),
    { numRuns: 2000, interruptAfterTimeLimit: 5000 },
  );
});
