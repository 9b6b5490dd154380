// compileTrafficPolicies: defaults for what no policy selects (the one shared
// DEFAULT_TRAFFIC object), overrides in milliseconds, port selection, and the
// retryable-request decision (idempotent methods, retryable routes), as tables.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRAFFIC, DEFAULT_TRAFFIC_TABLE, compileTrafficPolicies, type TrafficSettings, type TrafficService } from './traffic-policy.js';
import { TrafficPolicySchema, type TrafficPolicy } from './resources.js';

const policy = (name: string, spec: Record<string, unknown>, namespace = 'shop'): TrafficPolicy =>
  TrafficPolicySchema.parse({ apiVersion: 'entente.dev/v1alpha1', kind: 'TrafficPolicy', metadata: { name, namespace }, spec });

const services: TrafficService[] = [
  { namespace: 'shop', name: 'payments', ports: [{ port: 80 }, { port: 9000 }] },
  { namespace: 'shop', name: 'catalog', ports: [{ port: 80 }] },
  { namespace: 'web', name: 'payments', ports: [{ port: 80 }] },
];

describe('compileTrafficPolicies', () => {
  it('gives the one frozen DEFAULT_TRAFFIC object to everything no policy selects', () => {
    const table = compileTrafficPolicies([policy('pay', { service: 'payments', ports: [80] })], services);
    for (const [ns, svc, port] of [['shop', 'payments', 9000], ['shop', 'catalog', 80], ['web', 'payments', 80], ['shop', 'nowhere', 1]] as const) {
      assert.equal(table.settingsFor(ns, svc, port), DEFAULT_TRAFFIC, `${ns}/${svc}:${port}`);
    }
    assert.equal(DEFAULT_TRAFFIC_TABLE.settingsFor('any', 'thing', 1), DEFAULT_TRAFFIC);
    assert.ok(Object.isFrozen(DEFAULT_TRAFFIC) && Object.isFrozen(DEFAULT_TRAFFIC.retry) && Object.isFrozen(DEFAULT_TRAFFIC.retry.backoff));
    assert.equal(DEFAULT_TRAFFIC.policy, undefined);
  });

  it('a policy with only a service gets exactly the defaults, named after the policy', () => {
    const s = compileTrafficPolicies([policy('pay', { service: 'payments' })], services).settingsFor('shop', 'payments', 80);
    assert.notEqual(s, DEFAULT_TRAFFIC);
    const plain = (t: TrafficSettings) => ({ ...t, retry: { ...t.retry, isRetryable: undefined, retryOn: [...t.retry.retryOn].sort() }, policy: undefined });
    assert.deepEqual(plain(s), plain(DEFAULT_TRAFFIC), 'the schema fills in the same defaults the compiler uses');
    assert.equal(s.policy, 'shop/pay');
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.outlier));
  });

  it('converts every override to milliseconds and numbers', () => {
    const s = compileTrafficPolicies([policy('pay', {
      service: 'payments',
      timeouts: { connect: '250ms', request: '15s', idle: '5m' },
      retries: { attempts: 3, perTryTimeout: '2s', retryOn: ['5xx', 'reset'], backoff: { base: '10ms', max: '1s' }, budget: { ratio: 0.5, minPerSecond: 3 } },
      outlierDetection: { consecutiveFailures: 3, baseEjection: '5s', maxEjection: '1m', maxEjectedPercent: 20 },
      circuitBreaker: { maxRequests: 100, maxPending: 0 },
      loadBalancer: { locality: 'none' },
    })], services).settingsFor('shop', 'payments', 9000);
    assert.equal(s.connectTimeoutMs, 250);
    assert.equal(s.requestTimeoutMs, 15_000);
    assert.equal(s.idleTimeoutMs, 300_000);
    assert.equal(s.retry.attempts, 3);
    assert.equal(s.retry.perTryTimeoutMs, 2_000);
    assert.deepEqual([...s.retry.retryOn], ['reset', '5xx']);
    assert.deepEqual(s.retry.backoff, { baseMs: 10, maxMs: 1_000 });
    assert.deepEqual(s.retry.budget, { ratio: 0.5, minPerSecond: 3, windowMs: DEFAULT_TRAFFIC.retry.budget.windowMs });
    assert.deepEqual(s.outlier, { consecutiveFailures: 3, baseEjectionMs: 5_000, maxEjectionMs: 60_000, maxEjectedPercent: 20 });
    assert.deepEqual(s.breaker, { maxRequests: 100, maxPending: 0 });
    assert.equal(s.locality, 'none');
  });

  it('unset request and per-try timeouts are 0 (none)', () => {
    const s = compileTrafficPolicies([policy('pay', { service: 'payments', timeouts: { connect: '1s' } })], services).settingsFor('shop', 'payments', 80);
    assert.equal(s.requestTimeoutMs, 0);
    assert.equal(s.retry.perTryTimeoutMs, 0);
    assert.equal(s.idleTimeoutMs, DEFAULT_TRAFFIC.idleTimeoutMs);
  });

  it('selects listed ports only, every port of the Service without ports, in its own namespace only', () => {
    const table = compileTrafficPolicies([
      policy('pay-80', { service: 'payments', ports: [80], timeouts: { connect: '1s' } }),
      policy('catalog', { service: 'catalog', timeouts: { connect: '2s' } }),
      policy('web-pay', { service: 'payments', timeouts: { connect: '3s' } }, 'web'),
    ], services);
    const cases: [string, string, number, string | undefined][] = [
      ['shop', 'payments', 80, 'shop/pay-80'],
      ['shop', 'payments', 9000, undefined],
      ['shop', 'catalog', 80, 'shop/catalog'],
      ['shop', 'catalog', 81, undefined],
      ['web', 'payments', 80, 'web/web-pay'],
      ['web', 'catalog', 80, undefined],
    ];
    for (const [ns, svc, port, want] of cases) assert.equal(table.settingsFor(ns, svc, port).policy, want, `${ns}/${svc}:${port}`);
    assert.equal(table.size, 3);
  });

  it('overlapping policies (never loaded, but a config could carry them): the first by namespace/name governs', () => {
    const table = compileTrafficPolicies([
      policy('b-all', { service: 'payments', timeouts: { connect: '2s' } }),
      policy('a-80', { service: 'payments', ports: [80], timeouts: { connect: '1s' } }),
    ], services);
    assert.equal(table.settingsFor('shop', 'payments', 80).policy, 'shop/a-80');
    assert.equal(table.settingsFor('shop', 'payments', 9000).policy, 'shop/b-all');
  });

  it('a policy for a Service the config does not list selects only the ports it names', () => {
    const table = compileTrafficPolicies([policy('x', { service: 'ghost' }), policy('y', { service: 'ledger', ports: [7] })], services);
    assert.equal(table.size, 1);
    assert.equal(table.settingsFor('shop', 'ledger', 7).policy, 'shop/y');
  });
});

describe('retry.isRetryable', () => {
  const routes = [
    { methods: ['POST'], paths: ['/orders/*'] },
    { paths: ['*/retry'] },
    { methods: ['PATCH'] },
  ];
  const withRoutes = compileTrafficPolicies([policy('pay', { service: 'payments', retries: { retryableRoutes: routes } })], services).settingsFor('shop', 'payments', 80);
  const cases: { name: string; method: string; path: string; defaults: boolean; routes: boolean }[] = [
    { name: 'GET', method: 'GET', path: '/x', defaults: true, routes: true },
    { name: 'HEAD', method: 'HEAD', path: '/x', defaults: true, routes: true },
    { name: 'OPTIONS', method: 'OPTIONS', path: '/x', defaults: true, routes: true },
    { name: 'PUT', method: 'PUT', path: '/x', defaults: true, routes: true },
    { name: 'DELETE', method: 'DELETE', path: '/x', defaults: true, routes: true },
    { name: 'TRACE', method: 'TRACE', path: '/x', defaults: true, routes: true },
    { name: 'lower-case get is GET', method: 'get', path: '/x', defaults: true, routes: true },
    { name: 'POST elsewhere', method: 'POST', path: '/pay', defaults: false, routes: false },
    { name: 'POST on a retryable prefix', method: 'POST', path: '/orders/7', defaults: false, routes: true },
    { name: 'lower-case post on it', method: 'post', path: '/orders/7', defaults: false, routes: true },
    { name: 'POST with a query', method: 'POST', path: '/orders/7?x=1', defaults: false, routes: true },
    { name: 'POST dodging through ..', method: 'POST', path: '/orders/../pay', defaults: false, routes: false },
    { name: 'POST normalized into the route', method: 'POST', path: '//orders/./7', defaults: false, routes: true },
    { name: 'POST on an unparseable path', method: 'POST', path: '/orders/%2F', defaults: false, routes: false },
    { name: 'any method on a suffix route', method: 'CONNECT', path: '/a/retry', defaults: false, routes: true },
    { name: 'PATCH on a methods-only route', method: 'PATCH', path: '/anything', defaults: false, routes: true },
    { name: 'PATCH on the POST route, allowed by the methods-only one', method: 'PATCH', path: '/orders/7', defaults: false, routes: true },
    { name: 'POST on the prefix itself', method: 'POST', path: '/orders/', defaults: false, routes: true },
    { name: 'POST on the bare prefix without slash', method: 'POST', path: '/orders', defaults: false, routes: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.method} ${c.path}`, () => {
      assert.equal(DEFAULT_TRAFFIC.retry.isRetryable(c.method, c.path), c.defaults, 'defaults: idempotent methods only');
      assert.equal(withRoutes.retry.isRetryable(c.method, c.path), c.routes, 'with retryable routes');
    });
  }
});
