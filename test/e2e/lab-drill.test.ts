// A drill as a user runs it: `entente lab --drill gateway-outage --json`. ap's
// gateway is killed and restarted with its saved enrollment; the report's
// fields are checked, and the routes into ap that fail over keep working.
// The store drills (replica-lag, promote) against the lab's real PostgreSQL:
// the report's expectations, and the facts behind them.
// Loopback: 127.241-127.246 (test/e2e/lab-harness.ts; 247-250 belong to other work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillReport } from '../../src/lab/drill-report.js';
import { randomIpPrefix, runCli } from './lab-harness.js';

/** Every lab of this file. */
const prefix = (): string => randomIpPrefix(241, 246);

/** The report of a drill run with --json, after the checks every drill shares. */
async function drill(name: string, args: readonly string[] = [], rate = 5): Promise<DrillReport> {
  const { code, stdout, stderr } = await runCli(['lab', '--drill', name, '--json', '--rate', String(rate), '--ip-prefix', prefix(), ...args], 260_000);
  assert.ok(code === 0 || code === 3, `lab exited ${code}\n${stderr.slice(-3000)}`);
  // --json: the report alone on stdout.
  const report = JSON.parse(stdout) as DrillReport;
  assert.deepEqual(Object.keys(report), ['drill', 'phases', 'unservable', 'recoverMs', 'healConvergeMs', 'expectationsMet', 'expectations']);
  assert.equal(report.drill, name);
  assert.equal(code === 0, report.expectationsMet);
  assert.ok(report.expectations.length >= 4 && report.expectations.every((e) => typeof e.met === 'boolean' && e.what && e.detail));
  return report;
}

/** The expectation whose text matches, with the numbers of its detail. */
function fact(report: DrillReport, what: RegExp): { met: boolean; detail: string; numbers: number[] } {
  const e = report.expectations.find((x) => what.test(x.what));
  assert.ok(e, `no expectation matching ${what} in ${JSON.stringify(report.expectations, null, 1)}`);
  return { met: e.met, detail: e.detail, numbers: [...e.detail.matchAll(/\d+(?:\.\d+)?/g)].map((m) => Number(m[0])) };
}

test('entente lab --drill gateway-outage --json: the report, and traffic recovers after the heal', { timeout: 300_000 }, async () => {
  // No store: this drill does not touch it, and the lab starts sooner without.
  const report = await drill('gateway-outage', ['--no-store']);
  assert.deepEqual(report.phases.map((p) => p.name), ['before', 'during', 'after']);
  for (const p of report.phases) assert.ok(p.requests > 0 && p.ok <= p.requests && p.p99Ms >= p.p50Ms, JSON.stringify(p));
  // frontend->shipping: only ap hosts shipping, and ap's gateway is down.
  assert.ok(report.unservable.requests > 0 && report.unservable.ok < report.unservable.requests, JSON.stringify(report.unservable));
  // The restarted gateway re-used its enrollment: every allowed route served again.
  assert.notEqual(report.healConvergeMs, null, JSON.stringify(report.expectations, null, 1));
  assert.ok(report.expectationsMet, JSON.stringify(report.expectations.filter((e) => !e.met), null, 1));
});

test('entente lab --drill replica-lag --json: reads leave the paused replica, come back after the resume, and never fail', { timeout: 300_000 }, async () => {
  // Demo traffic at 2 req/s per route: these drills are about the store, whose clients add their own load
  // (a fresh PostgreSQL connection per call); on a busy machine a demo request could time out otherwise.
  const report = await drill('replica-lag', [], 2);
  assert.ok(report.expectationsMet, JSON.stringify(report.expectations.filter((e) => !e.met), null, 1));
  // Before the pause, us's reads were served by us's own replica.
  const before = fact(report, /before the pause, us's reads/);
  assert.ok(before.numbers[0]! > 0 && before.numbers[0] === before.numbers[1], before.detail);
  // During it, they went to another server (ap's replica is the nearest within the bound), after leaving within the bound.
  const left = fact(report, /us's reads leave the paused replica/);
  assert.match(left.detail, /then [1-9]\d* reads on orders-pg-(ap|eu)/);
  assert.ok(left.numbers[0]! <= 7, left.detail);
  assert.match(fact(report, /after the resume, us's reads come back/).detail, /first read on orders-pg-us \d/);
  // Not one read or write failed.
  for (const kind of ['read', 'write']) {
    const f = fact(report, new RegExp(`every store ${kind} succeeds`));
    assert.ok(f.numbers[1]! > 0 && f.numbers[0] === f.numbers[1], f.detail);
  }
});

test('entente lab --drill promote --json: writes fail for a bounded window, then land on the promoted server and never on the old primary', { timeout: 300_000 }, async () => {
  const report = await drill('promote', [], 2);
  assert.ok(report.expectationsMet, JSON.stringify(report.expectations.filter((e) => !e.met), null, 1));
  // The kill made some writes fail (it is a real crash), all of them within the bound.
  const window = fact(report, /writes fail only between the kill/);
  assert.ok(window.numbers.at(-2)! >= 1, `some writes failed: ${window.detail}`);
  // Every region's writes reached the promoted server, and none the old primary.
  for (const region of ['eu', 'us', 'ap']) {
    const f = fact(report, new RegExp(`${region}'s writes succeed on the promoted server orders-pg-us`));
    assert.match(f.detail, /first write on orders-pg-us \d/);
    const [done, of] = f.detail.split(' on ').at(-1)!.split('/').map(Number);
    assert.ok(of! > 0 && done === of, f.detail);
  }
  assert.equal(fact(report, /no write lands on the old primary orders-pg-eu/).detail, '0 did');
});

test('drill options that contradict each other are usage errors (exit 2) before anything starts', async () => {
  const cases: [string[], RegExp][] = [
    [['--drill', 'partition', '--duration', '10'], /--duration.*timeline sets its length/],
    [['--drill', 'partition', '--scenario', 'x.yaml'], /either --drill or --scenario/],
    [['--drill', 'partition', '--no-traffic'], /drop --no-traffic/],
    [['--drill', 'no-such-drill'], /no-such-drill/],
    [['--drill', 'replica-lag', '--no-store'], /--no-store.*pauseReplay.*drop --no-store/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runCli(['lab', ...args, '--ip-prefix', prefix()], 60_000);
    assert.equal(code, 2, `${args.join(' ')}: exit ${code}, stderr ${stderr}`);
    assert.match(stderr, message, args.join(' '));
  }
});
