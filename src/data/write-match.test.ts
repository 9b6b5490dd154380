// The write classification as a table: any match makes a write, every part of
// a match must fit, the rest are reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWriteMatcher, type WireWriteMatch } from './write-match.js';

const RULES: WireWriteMatch[] = [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'] }, { paths: ['/rpc/*'] }, { header: { name: 'x-consistency', values: ['strong'] } }, { methods: ['GET'], paths: ['/admin/*'], header: { name: 'x-admin' } }];

test('which requests are writes', () => {
  const isWrite = compileWriteMatcher(RULES);
  const cases: [string, string, Record<string, string | string[]>, boolean][] = [
    ['POST', '/orders', {}, true],
    ['post', '/orders', {}, true],
    ['DELETE', '/orders/1', {}, true],
    ['GET', '/orders/1', {}, false],
    ['HEAD', '/orders/1', {}, false],
    ['GET', '/rpc/sum', {}, true],
    ['GET', '/rpcx', {}, false],
    ['GET', '/orders/1', { 'x-consistency': 'strong' }, true],
    ['GET', '/orders/1', { 'x-consistency': ' strong ' }, true],
    ['GET', '/orders/1', { 'x-consistency': ['weak', 'strong'] }, true],
    ['GET', '/orders/1', { 'x-consistency': 'weak' }, false],
    // every part of one match must fit
    ['GET', '/admin/x', {}, false],
    ['GET', '/admin/x', { 'x-admin': '' }, true],
    ['PUT', '/admin/x', {}, true],
  ];
  for (const [method, path, headers, want] of cases) assert.equal(isWrite(method, path, (n) => headers[n]), want, `${method} ${path} ${JSON.stringify(headers)}`);
});

test('no matches: every request is a read', () => {
  assert.equal(compileWriteMatcher([])('POST', '/x', () => undefined), false);
});
