import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appRequestHeaders, appResponseHeaders, endToEndHeaders, xfccValue, XFCC_HEADER } from './http-headers.js';

test('hop-by-hop headers and those named by Connection are dropped; others kept', () => {
  const out = endToEndHeaders({
    host: 'a',
    connection: 'keep-alive, x-private',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'proxy-connection': 'keep-alive',
    'x-private': 'secret',
    traceparent: '00-abc-def-01',
    'set-cookie': ['a=1', 'b=2'],
  });
  assert.deepEqual(out, { host: 'a', traceparent: '00-abc-def-01', 'set-cookie': ['a=1', 'b=2'] });
});

test('the app sees exactly our XFCC, whatever the caller sent (property)', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), fc.string({ maxLength: 20 })), fc.option(fc.string({ maxLength: 40 })), (headers, forged) => {
      const incoming = forged === null ? headers : { ...headers, [XFCC_HEADER]: forged };
      const out = appRequestHeaders(incoming, 'spiffe://eu.test/ns/shop/sa/orders', 'spiffe://eu.test/ns/shop/sa/frontend');
      assert.equal(out[XFCC_HEADER], xfccValue('spiffe://eu.test/ns/shop/sa/orders', 'spiffe://eu.test/ns/shop/sa/frontend'));
      assert.equal(out[XFCC_HEADER], 'By=spiffe://eu.test/ns/shop/sa/orders;URI=spiffe://eu.test/ns/shop/sa/frontend');
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 300 },
  );
});

test('every spelling of a header we set is dropped: case and "_" for "-" (table)', () => {
  const ours = 'By=spiffe://eu.test/ns/shop/sa/orders;URI=spiffe://eu.test/ns/shop/sa/frontend';
  for (const spelling of ['x-forwarded-client-cert', 'X-Forwarded-Client-Cert', 'x_forwarded_client_cert', 'X_FORWARDED_CLIENT_CERT', 'x-forwarded_client-cert']) {
    const out = appRequestHeaders({ [spelling]: 'forged', 'x-forwarded-client': 'kept', x_other_header: 'kept' }, 'spiffe://eu.test/ns/shop/sa/orders', 'spiffe://eu.test/ns/shop/sa/frontend');
    assert.deepEqual(out, { 'x-forwarded-client': 'kept', x_other_header: 'kept', [XFCC_HEADER]: ours }, spelling);
  }
});

test('no header that reads as ours survives, whatever names the caller uses (property)', () => {
  const name = fc.stringMatching(/^[a-zA-Z_-]{1,30}$/);
  const xfccSpelling = fc.array(fc.boolean(), { minLength: XFCC_HEADER.length, maxLength: XFCC_HEADER.length }).map((flags) =>
    [...XFCC_HEADER].map((c, i) => (c === '-' ? (flags[i] ? '_' : '-') : flags[i] ? c.toUpperCase() : c)).join(''),
  );
  fc.assert(
    fc.property(fc.dictionary(fc.oneof(name, xfccSpelling), fc.string({ maxLength: 10 })), (headers) => {
      const out = appRequestHeaders(headers, 'spiffe://eu.test/ns/a/sa/b', 'spiffe://eu.test/ns/c/sa/d');
      const readAsXfcc = Object.keys(out).filter((n) => n.toLowerCase().replace(/_/g, '-') === XFCC_HEADER);
      assert.deepEqual(readAsXfcc, [XFCC_HEADER]);
      assert.equal(out[XFCC_HEADER], xfccValue('spiffe://eu.test/ns/a/sa/b', 'spiffe://eu.test/ns/c/sa/d'));
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 300 },
  );
});

test("an app cannot speak for the mesh: its x-entente-deny-reason and x-entente-refusal are dropped from its response", () => {
  const out = appResponseHeaders({ 'content-type': 'text/plain', 'x-entente-deny-reason': 'forged', 'X-Entente-Refusal': 'policy_denied', x_entente_refusal: 'app_unreachable', connection: 'keep-alive', 'x-app': '1' } as never);
  assert.deepEqual(out, { 'content-type': 'text/plain', 'x-app': '1' });
});
