// TrafficPolicy schema: defaults are filled in and durations re-spelt so the
// output parses again unchanged; every bad value is refused with its key, the
// value and what was expected (through the loader, as an operator sees it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficPolicySchema } from './resources.js';
import { parseResourceText } from './load-resources.js';
import type { ResourceErrorCode } from './resource-error.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: { name: pay, namespace: shop }\n';
const doc = (spec: string): string => `${HEAD}spec:\n${spec.replace(/^/gm, '  ')}\n`;

describe('TrafficPolicySchema', () => {
  it('fills in every default, and its output parses again to itself', () => {
    const parsed = parseResourceText('t.yaml', doc('service: payments'));
    assert.deepEqual(parsed.errors, []);
    const p = parsed.resources[0]!.resource;
    assert.equal(p.kind, 'TrafficPolicy');
    const spec = p.kind === 'TrafficPolicy' ? p.spec : undefined;
    assert.deepEqual(spec, {
      service: 'payments',
      timeouts: { connect: '5s', idle: '1h' },
      retries: { attempts: 2, retryOn: ['connect-failure', 'refused-stream'], backoff: { base: '25ms', max: '250ms' }, budget: { ratio: 0.2, minPerSecond: 10 } },
      outlierDetection: { consecutiveFailures: 3, baseEjection: '10s', maxEjection: '1m', maxEjectedPercent: 50 },
      circuitBreaker: { maxRequests: 1024, maxPending: 1024 },
      loadBalancer: { locality: 'zone' },
    });
    assert.deepEqual(TrafficPolicySchema.parse(p), p, 'the agent re-validates what the controller sends');
  });

  it('re-spells durations canonically and keeps retry conditions in one order, once each', () => {
    const parsed = parseResourceText('t.yaml', doc('service: payments\ntimeouts: { connect: 1500ms, request: 120s, idle: 0.5h }\nretries: { retryOn: [reset, connect-failure, reset], perTryTimeout: 2000ms }'));
    assert.deepEqual(parsed.errors, []);
    const p = parsed.resources[0]!.resource;
    assert.ok(p.kind === 'TrafficPolicy');
    assert.deepEqual(p.spec.timeouts, { connect: '1500ms', request: '2m', idle: '30m' });
    assert.equal(p.spec.retries.perTryTimeout, '2s');
    assert.deepEqual(p.spec.retries.retryOn, ['connect-failure', 'reset']);
  });

  it('accepts every field at the edge of its range', () => {
    const spec = [
      'service: payments',
      'ports: [80, 443]',
      'timeouts: { connect: 5m, request: 1d, idle: 7d }',
      'retries:',
      '  attempts: 10',
      '  perTryTimeout: 1d',
      '  retryOn: [connect-failure, refused-stream, reset, unavailable, gateway-error, 5xx]',
      '  retryableRoutes: [{ methods: [POST], paths: ["/orders/*", "*/retry"] }, { paths: ["*"] }]',
      '  backoff: { base: 1m, max: 5m }',
      '  budget: { ratio: 1, minPerSecond: 0 }',
      'outlierDetection: { consecutiveFailures: 1000, baseEjection: 1h, maxEjection: 1d, maxEjectedPercent: 0 }',
      'circuitBreaker: { maxRequests: 1, maxPending: 0 }',
      'loadBalancer: { locality: none }',
    ].join('\n');
    assert.deepEqual(parseResourceText('t.yaml', doc(spec)).errors, []);
  });

  const D = 'a duration above 0 and at most';
  const bad: { name: string; spec: string; key: string; value: string; expected: RegExp; code?: ResourceErrorCode }[] = [
    { name: 'no service', spec: 'ports: [80]', key: 'spec.service', value: '(missing)', expected: /name of a Service.*\(required\)/ },
    { name: 'service not a label', spec: 'service: Payments', key: 'spec.service', value: '"Payments"', expected: /DNS-1123 label/ },
    { name: 'unknown spec key', spec: 'service: p\nretrys: {}', key: 'spec.retrys', value: '{}', expected: /did you mean "retries"/, code: 'UNKNOWN_KEY' },
    { name: 'unknown timeouts key', spec: 'service: p\ntimeouts: { conect: 1s }', key: 'spec.timeouts.conect', value: '"1s"', expected: /one of the keys connect, request, idle \(did you mean "connect"\?\)/, code: 'UNKNOWN_KEY' },
    { name: 'empty ports', spec: 'service: p\nports: []', key: 'spec.ports', value: '[]', expected: /non-empty list of ports.*leave the key out/ },
    { name: 'port out of range', spec: 'service: p\nports: [0]', key: 'spec.ports[0]', value: '0', expected: /port number 1-65535/ },
    { name: 'port listed twice', spec: 'service: p\nports: [80, 80]', key: 'spec.ports[1]', value: '80', expected: /not already listed \(ports\[0\] has 80\)/ },
    { name: 'duration without unit', spec: 'service: p\ntimeouts: { connect: 5 }', key: 'spec.timeouts.connect', value: '5', expected: new RegExp(`${D} 5m`) },
    { name: 'duration zero', spec: 'service: p\ntimeouts: { idle: 0s }', key: 'spec.timeouts.idle', value: '"0s"', expected: new RegExp(`${D} 7d`) },
    { name: 'duration rounding to zero', spec: 'service: p\ntimeouts: { connect: 0.1ms }', key: 'spec.timeouts.connect', value: '"0.1ms"', expected: new RegExp(D) },
    { name: 'connect timeout too long', spec: 'service: p\ntimeouts: { connect: 6m }', key: 'spec.timeouts.connect', value: '"6m"', expected: new RegExp(`${D} 5m`) },
    { name: 'request timeout too long', spec: 'service: p\ntimeouts: { request: 25h }', key: 'spec.timeouts.request', value: '"25h"', expected: new RegExp(`${D} 1d`) },
    { name: 'negative duration', spec: 'service: p\ntimeouts: { request: -1s }', key: 'spec.timeouts.request', value: '"-1s"', expected: new RegExp(D) },
    { name: 'attempts above 10', spec: 'service: p\nretries: { attempts: 11 }', key: 'spec.retries.attempts', value: '11', expected: /integer 0-10/ },
    { name: 'attempts not an integer', spec: 'service: p\nretries: { attempts: 1.5 }', key: 'spec.retries.attempts', value: '1.5', expected: /integer 0-10/ },
    { name: 'attempts a string', spec: 'service: p\nretries: { attempts: "2" }', key: 'spec.retries.attempts', value: '"2"', expected: /integer 0-10/ },
    { name: 'unknown retry condition', spec: 'service: p\nretries: { retryOn: [5xx, timeout] }', key: 'spec.retries.retryOn[1]', value: '"timeout"', expected: /one of "connect-failure", "refused-stream", "reset", "unavailable", "gateway-error", "5xx"/ },
    { name: 'empty retry conditions', spec: 'service: p\nretries: { retryOn: [] }', key: 'spec.retries.retryOn', value: '[]', expected: /non-empty list of retry conditions/ },
    { name: 'per-try longer than the request', spec: 'service: p\ntimeouts: { request: 1s }\nretries: { perTryTimeout: 2s }', key: 'spec.retries.perTryTimeout', value: '"2s"', expected: /at most timeouts.request \(1s\)/ },
    { name: 'retryable route with no key', spec: 'service: p\nretries: { retryableRoutes: [{}] }', key: 'spec.retries.retryableRoutes[0]', value: '{}', expected: /methods, paths or both/ },
    { name: 'retryable method lower case', spec: 'service: p\nretries: { retryableRoutes: [{ methods: [post] }] }', key: 'spec.retries.retryableRoutes[0].methods[0]', value: '"post"', expected: /upper-case HTTP method/ },
    { name: 'retryable path with a * in the middle', spec: 'service: p\nretries: { retryableRoutes: [{ paths: ["/orders/*/retry"] }] }', key: 'spec.retries.retryableRoutes[0].paths[0]', value: '"/orders/*/retry"', expected: /exact \("\/api\/v1"\), prefix/ },
    { name: 'retryable path not starting with /', spec: 'service: p\nretries: { retryableRoutes: [{ paths: ["orders"] }] }', key: 'spec.retries.retryableRoutes[0].paths[0]', value: '"orders"', expected: /start with "\/"/ },
    { name: 'backoff base above the default max', spec: 'service: p\nretries: { backoff: { base: 300ms } }', key: 'spec.retries.backoff.base', value: '"300ms"', expected: /at most max \(250ms, given or the default\)/ },
    { name: 'backoff base above max', spec: 'service: p\nretries: { backoff: { base: 2s, max: 1s } }', key: 'spec.retries.backoff.base', value: '"2s"', expected: /at most max \(1s/ },
    { name: 'budget ratio above 1', spec: 'service: p\nretries: { budget: { ratio: 1.5 } }', key: 'spec.retries.budget.ratio', value: '1.5', expected: /number 0-1/ },
    { name: 'budget minPerSecond negative', spec: 'service: p\nretries: { budget: { minPerSecond: -1 } }', key: 'spec.retries.budget.minPerSecond', value: '-1', expected: /integer 0-1000/ },
    { name: 'percent above 100', spec: 'service: p\noutlierDetection: { maxEjectedPercent: 101 }', key: 'spec.outlierDetection.maxEjectedPercent', value: '101', expected: /integer 0-100/ },
    { name: 'percent negative', spec: 'service: p\noutlierDetection: { maxEjectedPercent: -5 }', key: 'spec.outlierDetection.maxEjectedPercent', value: '-5', expected: /integer 0-100/ },
    { name: 'zero consecutive failures', spec: 'service: p\noutlierDetection: { consecutiveFailures: 0 }', key: 'spec.outlierDetection.consecutiveFailures', value: '0', expected: /integer 1-1000/ },
    { name: 'base ejection above max ejection', spec: 'service: p\noutlierDetection: { baseEjection: 10m, maxEjection: 1m }', key: 'spec.outlierDetection.baseEjection', value: '"10m"', expected: /at most maxEjection \(1m/ },
    { name: 'base ejection too long', spec: 'service: p\noutlierDetection: { baseEjection: 2h }', key: 'spec.outlierDetection.baseEjection', value: '"2h"', expected: new RegExp(`${D} 1h`) },
    { name: 'zero max requests', spec: 'service: p\ncircuitBreaker: { maxRequests: 0 }', key: 'spec.circuitBreaker.maxRequests', value: '0', expected: /integer 1-1000000/ },
    { name: 'unknown locality', spec: 'service: p\nloadBalancer: { locality: nearest }', key: 'spec.loadBalancer.locality', value: '"nearest"', expected: /one of "zone", "region", "none"/ },
    { name: 'timeouts not a mapping', spec: 'service: p\ntimeouts: 5s', key: 'spec.timeouts', value: '"5s"', expected: /mapping with any of connect, request, idle/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const { resources, errors } = parseResourceText('t.yaml', doc(c.spec));
      assert.equal(resources.length, 0);
      const e = errors.find((x) => x.key === c.key);
      assert.ok(e, `an error at ${c.key}: ${errors.map((x) => x.message).join('; ')}`);
      assert.equal(e.code, c.code ?? 'INVALID_FIELD');
      assert.equal(e.value, c.value);
      assert.match(e.expected, c.expected);
      assert.equal(e.resource, 'TrafficPolicy shop/pay');
      assert.ok(e.line !== undefined && e.line > 3, 'located to its line');
    });
  }
});
