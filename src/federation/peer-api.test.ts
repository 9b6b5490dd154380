// What a peer's request asks for, decided from method and URL alone (a table):
// the old full pull, a delta, a 400 naming the bad parameter, or a 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeStatesRequest, type StatesRoute } from './peer-api.js';

test('routeStatesRequest', () => {
  const cases: [string | undefined, string, StatesRoute['kind'] | StatesRoute][] = [
    ['GET', '/v1/federation/states', { kind: 'full' }],
    ['GET', '/v1/federation/states?', { kind: 'full' }],
    ['GET', '/v1/federation/states?other=1', { kind: 'full' }],
    ['GET', '/v1/federation/states?since=0&epoch=abc', { kind: 'delta', since: 0, epoch: 'abc' }],
    ['GET', '/v1/federation/states?epoch=A-b_9&since=42', { kind: 'delta', since: 42, epoch: 'A-b_9' }],
    ['GET', '/v1/federation/states?since=9007199254740991&epoch=e', { kind: 'delta', since: 9007199254740991, epoch: 'e' }],
    ['GET', '/v1/federation/states?since=9007199254740992&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=-1&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=1.5&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=01&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=abc&epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=1', 'bad-request'],
    ['GET', '/v1/federation/states?epoch=e', 'bad-request'],
    ['GET', '/v1/federation/states?since=1&epoch=', 'bad-request'],
    ['GET', '/v1/federation/states?since=1&epoch=a%20b', 'bad-request'],
    ['GET', `/v1/federation/states?since=1&epoch=${'x'.repeat(65)}`, 'bad-request'],
    ['POST', '/v1/federation/states', 'not-found'],
    [undefined, '/v1/federation/states', 'not-found'],
    ['GET', '/v1/federation/states/', 'not-found'],
    ['GET', '/v1/federation', 'not-found'],
    ['GET', '/', 'not-found'],
  ];
  for (const [method, url, want] of cases) {
    const got = routeStatesRequest(method, url);
    if (typeof want === 'string') assert.equal(got.kind, want, `${method} ${url}`);
    else assert.deepEqual(got, want, `${method} ${url}`);
  }
});

test('a bad request names the parameter', () => {
  const bad = (url: string) => {
    const r = routeStatesRequest('GET', url);
    assert.equal(r.kind, 'bad-request', url);
    return r.kind === 'bad-request' ? r.parameter : '';
  };
  assert.equal(bad('/v1/federation/states?since=x&epoch=e'), 'since');
  assert.equal(bad('/v1/federation/states?epoch=e'), 'since');
  assert.equal(bad('/v1/federation/states?since=1'), 'epoch');
  assert.equal(bad('/v1/federation/states?since=1&epoch=%00'), 'epoch');
});
