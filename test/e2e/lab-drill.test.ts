// A drill as a user runs it: `entente lab --drill gateway-outage --json`. ap's
// gateway is killed and restarted with its saved enrollment; the report's
// fields are checked, and the routes into ap that fail over keep working.
// Loopback: 127.241-127.250 (test/e2e/lab-harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillReport } from '../../src/lab/drill-report.js';
import { randomIpPrefix, runCli } from './lab-harness.js';

test('entente lab --drill gateway-outage --json: the report, and traffic recovers after the heal', { timeout: 300_000 }, async () => {
  const { code, stdout, stderr } = await runCli(['lab', '--drill', 'gateway-outage', '--json', '--rate', '5', '--ip-prefix', randomIpPrefix(241, 250)], 260_000);
  assert.ok(code === 0 || code === 3, `lab exited ${code}\n${stderr.slice(-3000)}`);
  // --json: the report alone on stdout.
  const report = JSON.parse(stdout) as DrillReport;
  assert.deepEqual(Object.keys(report), ['drill', 'phases', 'unservable', 'recoverMs', 'healConvergeMs', 'expectationsMet', 'expectations']);
  assert.equal(report.drill, 'gateway-outage');
  assert.deepEqual(report.phases.map((p) => p.name), ['before', 'during', 'after']);
  for (const p of report.phases) assert.ok(p.requests > 0 && p.ok <= p.requests && p.p99Ms >= p.p50Ms, JSON.stringify(p));
  // frontend->shipping: only ap hosts shipping, and ap's gateway is down.
  assert.ok(report.unservable.requests > 0 && report.unservable.ok < report.unservable.requests, JSON.stringify(report.unservable));
  assert.equal(code === 0, report.expectationsMet);
  assert.ok(report.expectations.length >= 4 && report.expectations.every((e) => typeof e.met === 'boolean' && e.what && e.detail));
  // The restarted gateway re-used its enrollment: every allowed route served again.
  assert.notEqual(report.healConvergeMs, null, JSON.stringify(report.expectations, null, 1));
  assert.ok(report.expectationsMet, JSON.stringify(report.expectations.filter((e) => !e.met), null, 1));
});

test('drill options that contradict each other are usage errors (exit 2) before anything starts', async () => {
  const cases: [string[], RegExp][] = [
    [['--drill', 'partition', '--duration', '10'], /--duration.*timeline sets its length/],
    [['--drill', 'partition', '--scenario', 'x.yaml'], /either --drill or --scenario/],
    [['--drill', 'partition', '--no-traffic'], /drop --no-traffic/],
    [['--drill', 'no-such-drill'], /no-such-drill/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runCli(['lab', ...args, '--ip-prefix', randomIpPrefix(241, 250)], 60_000);
    assert.equal(code, 2, `${args.join(' ')}: exit ${code}, stderr ${stderr}`);
    assert.match(stderr, message, args.join(' '));
  }
});
