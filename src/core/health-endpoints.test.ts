import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { healthAnswer } from './health-endpoints.js';

describe('healthAnswer', () => {
  const ready = () => ({ notReady: [] });
  const notReady = () => ({ notReady: ['no config received yet'] });
  it('/healthz is 200 whatever the readiness', () => {
    assert.equal(healthAnswer('/healthz', notReady)?.status, 200);
  });
  it('/readyz is 200 when ready, 503 with the reasons when not', () => {
    assert.deepEqual(healthAnswer('/readyz', ready), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(healthAnswer('/readyz?verbose', notReady), { status: 503, body: { status: 'not ready', reasons: ['no config received yet'] } });
  });
  it('other paths are not health paths', () => {
    for (const p of ['/', '/metrics', '/healthzz', '/readyz/x', undefined]) assert.equal(healthAnswer(p, ready), undefined, String(p));
  });
});
