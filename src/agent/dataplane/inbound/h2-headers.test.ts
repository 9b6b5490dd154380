import { test } from 'node:test';
import assert from 'node:assert/strict';
import { h1AppRequestHeadersFromH2, h2AppRequestHeaders, h2ResponseHeaders, h2Trailers } from './h2-headers.js';
import { XFCC_HEADER } from '../http-headers.js';

const DEST = 'spiffe://eu.test/ns/shop/sa/orders';
const CALLER = 'spiffe://eu.test/ns/shop/sa/frontend';
const OURS = `By=${DEST};URI=${CALLER}`;

test('an h2c app gets the checked :path, our XFCC only, te: trailers kept, hop-by-hop dropped', () => {
  const out = h2AppRequestHeaders(
    { ':method': 'POST', ':path': '/admin/../pkg.Svc/Call', ':scheme': 'http', ':authority': 'orders.shop.mesh', 'content-type': 'application/grpc', te: 'trailers', 'x-forwarded-client-cert': 'forged', x_forwarded_client_cert: 'forged', 'keep-alive': '5', traceparent: 't' },
    '/pkg.Svc/Call',
    DEST,
    CALLER,
  );
  assert.deepEqual(out, { ':method': 'POST', ':path': '/pkg.Svc/Call', ':scheme': 'http', ':authority': 'orders.shop.mesh', 'content-type': 'application/grpc', te: 'trailers', traceparent: 't', [XFCC_HEADER]: OURS });
});

test('te other than trailers is dropped; a missing :scheme is http (table)', () => {
  const table: [string | undefined, string | undefined][] = [
    ['trailers', 'trailers'],
    ['Trailers, deflate', 'trailers'],
    ['gzip', undefined],
    [undefined, undefined],
  ];
  for (const [te, want] of table) {
    const out = h2AppRequestHeaders({ ':method': 'GET', ':path': '/', ...(te ? { te } : {}) }, '/', DEST, CALLER);
    assert.equal(out.te, want, String(te));
    assert.equal(out[':scheme'], 'http');
  }
});

test('an HTTP/1.1 app gets Host from :authority and no pseudo-headers', () => {
  const out = h1AppRequestHeadersFromH2({ ':method': 'GET', ':path': '/x', ':scheme': 'http', ':authority': 'orders.shop.mesh', accept: '*/*', 'X-Forwarded-Client-Cert': 'forged' }, DEST, CALLER);
  assert.deepEqual(out, { accept: '*/*', host: 'orders.shop.mesh', [XFCC_HEADER]: OURS });
});

test('responses and trailers keep end-to-end headers only', () => {
  assert.deepEqual(h2ResponseHeaders(200, { ':status': '200', 'content-type': 'application/grpc', connection: 'close', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'] }), {
    ':status': 200,
    'content-type': 'application/grpc',
    'set-cookie': ['a=1', 'b=2'],
  });
  assert.deepEqual(h2Trailers({ 'grpc-status': '0', 'grpc-message': 'ok', trailer: 'x' }), { 'grpc-status': '0', 'grpc-message': 'ok' });
});
