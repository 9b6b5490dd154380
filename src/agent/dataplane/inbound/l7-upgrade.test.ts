import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyUpgrade } from './l7-upgrade.js';
import { http1Head } from './raw-http1-response.js';

test('which upgrades are passed on, and whether the request has a body (table)', () => {
  const table: [Record<string, string>, ReturnType<typeof classifyUpgrade>][] = [
    [{ upgrade: 'websocket' }, { kind: 'websocket', bodyless: true }],
    [{ upgrade: 'WebSocket' }, { kind: 'websocket', bodyless: true }],
    [{ upgrade: 'websocket, h2c' }, { kind: 'websocket', bodyless: true }],
    [{ upgrade: 'h2c' }, { kind: 'other', bodyless: true }],
    [{ upgrade: 'h2c', 'content-length': '0' }, { kind: 'other', bodyless: true }],
    [{ upgrade: 'h2c', 'content-length': '5' }, { kind: 'other', bodyless: false }],
    [{ upgrade: 'TLS/1.2', 'transfer-encoding': 'chunked' }, { kind: 'other', bodyless: false }],
  ];
  for (const [headers, want] of table) assert.deepEqual(classifyUpgrade(headers), want, JSON.stringify(headers));
});

test('a raw response head cannot be split by a header value', () => {
  assert.equal(http1Head(403, { 'x-reason': 'a\r\nset-cookie: x=1', 'set-cookie': ['a=1', 'b=2'] }), 'HTTP/1.1 403 Forbidden\r\nx-reason: a  set-cookie: x=1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n');
  assert.match(http1Head(101, { upgrade: 'websocket' }, 'Switching Protocols'), /^HTTP\/1\.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n$/);
});
