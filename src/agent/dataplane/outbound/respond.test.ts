import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outboundStatus, refusalBody } from './respond.js';
import { fail, verdictOf } from '../outcome.js';

test('each outbound failure code maps to one status and one verdict (table)', () => {
  const cases: [Parameters<typeof fail>[0], number, 'deny' | 'error'][] = [
    ['bad_request', 400, 'error'],
    ['unknown_source', 403, 'deny'],
    ['attestation_failed', 403, 'deny'],
    ['no_selectors', 403, 'deny'],
    ['denied', 403, 'deny'],
    ['no_route', 502, 'error'],
    ['no_svid', 502, 'error'],
    ['connect_failed', 502, 'error'],
    ['reset', 502, 'error'],
    ['refused', 502, 'error'],
    ['breaker_open', 503, 'error'],
    ['pending_limit', 503, 'error'],
    ['no_endpoint', 503, 'error'],
    ['timeout', 504, 'error'],
  ];
  for (const [code, status, verdict] of cases) {
    const f = fail(code, 'why');
    assert.equal(outboundStatus(f), status, code);
    assert.equal(verdictOf(f), verdict, code);
  }
  assert.equal(verdictOf({ kind: 'done', status: 500, bytesIn: 0, bytesOut: 0 }), 'allow', "an app's own 5xx went through the mesh");
});

test('refusal bodies say who refused', () => {
  assert.equal(refusalBody(403, 'no rule allows x'), 'denied by policy: no rule allows x\n');
  assert.equal(refusalBody(503, 'breaker open'), 'entente: breaker open\n');
});
