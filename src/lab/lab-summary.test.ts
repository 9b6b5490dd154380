// lab-summary: the table flags exactly the routes that fail the run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOW_OK_THRESHOLD, routeMet, type LabReport, type RouteReport } from './lab.js';
import { renderSummary } from './lab-summary.js';

export function route(id: string, expect: 'allow' | 'deny', requests: number, ok: number, denied: number, failed: number): RouteReport {
  const [from, to] = id.split('->');
  return { id, from: { region: 'eu', service: from! }, to: { region: 'us', service: to! }, expect, note: '', requests, ok, denied, failed, p50Ms: 1, p99Ms: 2 };
}

export function report(routes: RouteReport[], durationS = 12): LabReport {
  return { regions: [{ name: 'eu', trustDomain: 'eu.entente.lab' }], rttMs: {}, durationS, workdir: '/tmp/x', routes, expectationsMet: routes.every(routeMet), unexpectedExits: [] };
}

describe('lab summary table', () => {
  it('flags an allowed route exactly when it is under the pass threshold', () => {
    assert.equal(ALLOW_OK_THRESHOLD, 0.99);
    const passing = route('a->b', 'allow', 1000, 995, 0, 5);
    const failing = route('c->d', 'allow', 1000, 980, 0, 20);
    const text = renderSummary(report([passing, failing]));
    const line = (id: string): string => text.split('\n').find((l) => l.startsWith(id))!;
    assert.ok(!line('a->b').includes('unexpected'), line('a->b'));
    assert.ok(line('c->d').includes('unexpected'), line('c->d'));
  });

  it('flags a denied route that let one request through', () => {
    assert.equal(routeMet(route('a->b', 'deny', 40, 0, 40, 0)), true);
    assert.equal(routeMet(route('a->b', 'deny', 40, 1, 39, 0)), false);
    assert.equal(routeMet(route('a->b', 'allow', 0, 0, 0, 0)), false);
  });
});
