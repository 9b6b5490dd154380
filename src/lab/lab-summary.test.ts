// lab-summary: the table flags exactly the routes that fail the run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOW_OK_THRESHOLD, routeMet, type LabReport, type RouteReport } from './lab.js';
import { percent, renderCompactLine, renderSummary } from './lab-summary.js';

function route(id: string, expect: 'allow' | 'deny', requests: number, ok: number, denied: number, failed: number): RouteReport {
  const [from, to] = id.split('->');
  return { id, from: { region: 'eu', service: from! }, to: { region: 'us', service: to! }, expect, note: '', requests, ok, denied, failed, p50Ms: 1, p99Ms: 2 };
}

function report(routes: RouteReport[], durationS = 12): LabReport {
  return { regions: [{ name: 'eu', trustDomain: 'eu.entente.lab' }], rttMs: {}, durationS, workdir: '/tmp/x', traffic: true, routes, expectationsMet: routes.every(routeMet), unexpectedExits: [] };
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

describe('lab compact line (no terminal)', () => {
  it('sums allowed and denied routes and names the worst allowed route', () => {
    const line = renderCompactLine(
      report([route('frontend->catalog', 'allow', 300, 300, 0, 0), route('frontend->payments', 'allow', 113, 112, 0, 1), route('ledger->catalog', 'deny', 40, 0, 40, 0)]),
    );
    assert.equal(line, 't=12s ok 412/413 (99.7%) deny 40/40 failed 1 worst frontend->payments 99.1%');
  });

  it('names the routes that would fail the run', () => {
    const line = renderCompactLine(report([route('a->b', 'allow', 100, 97, 0, 3), route('c->d', 'deny', 10, 1, 9, 0)], 3));
    assert.equal(line, 't=3s ok 97/100 (97.0%) deny 9/10 failed 3 worst a->b 97.0% unexpected a->b,c->d');
  });

  it('rounds a share down, so a failing route never shows 99.0%', () => {
    assert.equal(percent(9899, 10000), '98.9%');
    assert.equal(percent(1, 1), '100.0%');
    assert.equal(percent(57, 100), '57.0%');
    assert.equal(percent(0, 0), '-');
  });
});

describe('lab compact line, routes without requests', () => {
  it('calls them idle, apart from routes whose counts are wrong', () => {
    const line = renderCompactLine(report([route('a->b', 'allow', 10, 10, 0, 0), route('c->d', 'allow', 0, 0, 0, 0), route('e->f', 'deny', 5, 1, 4, 0)], 1));
    assert.equal(line, 't=1s ok 10/10 (100.0%) deny 4/5 failed 0 unexpected e->f idle c->d');
  });
});

describe('lab summary without demo traffic', () => {
  it('does not flag idle routes under --no-traffic, and does with traffic', () => {
    const idle = route('a->b', 'allow', 0, 0, 0, 0);
    assert.doesNotMatch(renderSummary({ ...report([idle]), traffic: false }), /unexpected/);
    assert.match(renderSummary(report([idle])), /unexpected/);
  });
});

describe('a drill\'s unservable routes', () => {
  it('are named apart, not flagged unexpected, in the live line and the table', () => {
    const r = report([route('a->b', 'allow', 100, 60, 0, 40), route('c->d', 'allow', 100, 97, 0, 3)]);
    const ctx = { unservable: new Set(['a->b']) };
    const line = renderCompactLine(r, ctx);
    assert.match(line, /unservable a->b/);
    assert.match(line, /unexpected c->d/);
    assert.doesNotMatch(line, /unexpected a->b/);
    const table = renderSummary(r, ctx);
    assert.match(table, /a->b.*\(unservable during the drill\)/);
    assert.match(table, /c->d.*<-- unexpected/);
  });
});
