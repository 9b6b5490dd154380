import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appRequestHeaders, endToEndHeaders, xfccValue, XFCC_HEADER } from './l7-headers.js';

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
