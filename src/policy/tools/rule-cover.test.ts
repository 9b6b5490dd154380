// ruleCovers as a table: what it proves (same or wider keys, "*" principals,
// no ports or methods meaning all, a DENY's "*" path) and what it must not
// claim (ALLOW "*" path over a stream, a from list that only a union covers).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { disjoint, patternCovers, ruleCovers } from './rule-cover.js';
import { parseStringPattern } from '../string-pattern.js';
import type { AuthorizationRule } from '../resources.js';

const P = (s: string) => parseStringPattern(s)!;
const FRONTEND = 'spiffe://eu.lab/ns/web/sa/frontend';

describe('patternCovers and disjoint', () => {
  it('covers: "*" all, a prefix its longer prefixes and exact values, a suffix likewise', () => {
    const table: [string, string, boolean][] = [
      ['*', '/x', true], ['*', '*', true], ['/x', '*', false],
      ['/api/*', '/api/v1', true], ['/api/*', '/api/v1/*', true], ['/api/*', '/ap*', false], ['/api/*', '/api', false],
      ['*.png', '/a.png', true], ['*.png', '*/x.png', true], ['*.png', '*.jpg', false],
      ['/a', '/a', true], ['/a', '/a/*', false], ['/a/*', '*.png', false],
    ];
    for (const [outer, inner, expected] of table) assert.equal(patternCovers(P(outer), P(inner)), expected, `${outer} covers ${inner}`);
  });

  it('disjoint only when it can be shown: exact values, prefixes that diverge, suffixes that diverge', () => {
    const table: [string, string, boolean][] = [
      ['/a', '/b', true], ['/a', '/a', false], ['/a', '/a*', false], ['/api/*', '/admin/*', true], ['/api/*', '/api/v1/*', false],
      ['*.png', '*.jpg', true], ['*.png', '*x.png', false], ['/a/*', '*.png', false], ['*', '/a', false],
    ];
    for (const [a, b, expected] of table) {
      assert.equal(disjoint(P(a), P(b)), expected, `${a} disjoint ${b}`);
      assert.equal(disjoint(P(b), P(a)), expected, `${b} disjoint ${a}`);
    }
  });
});

describe('ruleCovers', () => {
  const cases: [string, AuthorizationRule, 'ALLOW' | 'DENY', AuthorizationRule, boolean][] = [
    ['{} covers anything', {}, 'ALLOW', { from: [{ principals: [FRONTEND] }], to: [{ ports: [80], methods: ['GET'] }] }, true],
    ['the same rule', { from: [{ namespaces: ['web'] }] }, 'ALLOW', { from: [{ namespaces: ['web'] }] }, true],
    ['a narrower rule is not a cover', { from: [{ namespaces: ['web'] }] }, 'ALLOW', {}, false],
    ['principals "*" covers any caller', { from: [{ principals: ['*'] }] }, 'ALLOW', {}, true],
    ['a prefix glob covers an ID under it', { from: [{ principals: ['spiffe://eu.lab/ns/web/*'] }] }, 'ALLOW', { from: [{ principals: [FRONTEND] }] }, true],
    ['namespaces superset', { from: [{ namespaces: ['web', 'shop'] }] }, 'ALLOW', { from: [{ namespaces: ['web'] }] }, true],
    ['namespaces subset is not', { from: [{ namespaces: ['web'] }] }, 'ALLOW', { from: [{ namespaces: ['web', 'shop'] }] }, false],
    ['notPrincipals holds for an ID outside it', { from: [{ notPrincipals: ['spiffe://eu.lab/*'] }] }, 'DENY', { from: [{ principals: ['spiffe://us.lab/ns/web/sa/x'] }] }, true],
    ['notPrincipals does not hold for an ID inside it', { from: [{ notPrincipals: ['spiffe://eu.lab/*'] }] }, 'DENY', { from: [{ principals: [FRONTEND] }] }, false],
    ['notPrincipals covered by a wider notPrincipals', { from: [{ notPrincipals: [FRONTEND] }] }, 'ALLOW', { from: [{ notPrincipals: ['spiffe://eu.lab/*'] }] }, true],
    ['notNamespaces holds for disjoint namespaces', { from: [{ notNamespaces: ['shop'] }] }, 'ALLOW', { from: [{ namespaces: ['web'] }] }, true],
    ['no ports = all ports', { to: [{ methods: ['GET'] }] }, 'ALLOW', { to: [{ ports: [8080], methods: ['GET'] }] }, true],
    ['no methods = all methods', { to: [{ ports: [8080] }] }, 'ALLOW', { to: [{ ports: [8080], methods: ['GET'] }] }, true],
    ['methods superset', { to: [{ methods: ['GET', 'POST'] }] }, 'ALLOW', { to: [{ methods: ['GET'] }] }, true],
    ['ports are not covered by fewer ports', { to: [{ ports: [80] }] }, 'ALLOW', { to: [{ ports: [80, 8080] }] }, false],
    ['a "*" path covers every path pattern', { to: [{ paths: ['*'] }] }, 'ALLOW', { to: [{ paths: ['/api/*', '*.png'] }] }, true],
    ['a DENY "*" path covers a rule without paths (streams count as matching)', { to: [{ paths: ['*'] }] }, 'DENY', {}, true],
    ['an ALLOW "*" path does not cover a rule without paths (a stream has no path)', { to: [{ paths: ['*'] }] }, 'ALLOW', {}, false],
    ['notPaths holds for paths disjoint from it', { to: [{ notPaths: ['/admin/*'] }] }, 'ALLOW', { to: [{ paths: ['/api/*'] }] }, true],
    ['every entry of the covered rule must be inside one entry', { from: [{ namespaces: ['web'] }] }, 'ALLOW', { from: [{ namespaces: ['web'] }, { namespaces: ['shop'] }] }, false],
    ['two entries, each covered by its own', { from: [{ namespaces: ['web'] }, { namespaces: ['shop'] }] }, 'ALLOW', { from: [{ namespaces: ['shop'] }, { namespaces: ['web'] }] }, true],
    ['a union of entries is not claimed', { from: [{ namespaces: ['web'] }, { namespaces: ['shop'] }] }, 'ALLOW', { from: [{ namespaces: ['web', 'shop'] }] }, false],
    ['from and to must both be covered', { from: [{ namespaces: ['web'] }], to: [{ ports: [80] }] }, 'ALLOW', { from: [{ namespaces: ['web'] }] }, false],
  ];
  for (const [what, e, action, s, expected] of cases) {
    it(what, () => assert.equal(ruleCovers(e, action, s), expected));
  }
});
