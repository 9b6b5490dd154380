// The main command, as a user runs it: `entente lab --duration 20 --json`.
// Three regions, real processes, the emulated WAN; every allowed route must be
// at least 99% ok and every denied route entirely denied. The rate is modest
// (5 req/s per route): this checks behaviour, and must hold on a busy machine;
// throughput is measured by `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabReport } from '../../src/lab/lab.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomIpPrefix, runCli } from './lab-harness.js';
import { repeatedKeys } from './log-lines.js';

test('entente lab --duration 20 --json: allowed routes >= 99% ok, denied routes fully denied', { timeout: 240_000 }, async () => {
  const workdir = mkdtempSync(join(tmpdir(), 'entente-lab-test-'));
  const { code, stdout, stderr } = await runCli(['lab', '--duration', '20', '--json', '--rate', '5', '--workdir', workdir, '--ip-prefix', randomIpPrefix(100, 129)], 200_000);
  assert.equal(code, 0, `lab exited ${code}\n${stderr.slice(-3000)}\n${stdout.slice(-3000)}`);
  try {
    checkLogs(join(workdir, 'logs'));
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  const report = JSON.parse(stdout) as LabReport;
  assert.deepEqual(report.regions.map((r) => r.name), ['eu', 'us', 'ap']);
  assert.ok(report.routes.some((r) => r.expect === 'deny'));
  assert.ok(report.routes.filter((r) => r.from.region !== r.to.region).length >= 3, 'several cross-region routes');
  for (const r of report.routes) {
    assert.ok(r.requests > 0, `${r.id} carried no traffic`);
    if (r.expect === 'allow') {
      assert.ok(r.ok / r.requests >= 0.99, `${r.id}: ${r.ok}/${r.requests} ok (${r.lastError ?? ''})`);
      assert.ok(r.p50Ms !== null && r.p99Ms !== null && r.p99Ms >= r.p50Ms);
    } else {
      assert.equal(r.ok, 0, `${r.id}: a denied route got ${r.ok} ok`);
      assert.equal(r.denied, r.requests, `${r.id}: ${r.denied}/${r.requests} denied (${r.lastError ?? ''})`);
    }
  }
  // The replicated store runs by default: each region's writer and reader, as allowed routes (checked above).
  for (const region of ['eu', 'us', 'ap']) for (const name of ['orders-rw', 'orders-ro']) assert.ok(report.routes.some((r) => r.id === `store-${region}->${name}`), `store-${region}->${name} in the report`);
  // Cross-region latency reflects the emulated WAN: eu -> us has a 90 ms RTT.
  const euUs = report.routes.find((r) => r.from.region === 'eu' && r.to.region === 'us' && r.expect === 'allow')!;
  assert.ok(euUs.p50Ms! >= 90, `eu->us p50 ${euUs.p50Ms} ms is below the emulated RTT`);
});

test('without PostgreSQL the lab starts without its store, in one line; a store drill is refused at once, naming the package', { timeout: 180_000 }, async () => {
  const env = { ENTENTE_POSTGRES_ROOT: '/nonexistent' };
  const { code, stdout, stderr } = await runCli(['lab', '--regions', 'eu,us', '--duration', '3', '--json', '--rate', '2', '--ip-prefix', randomIpPrefix(100, 129)], 150_000, env);
  assert.equal(code, 0, `lab exited ${code}\n${stderr.slice(-3000)}`);
  assert.equal(stderr.split('\n').filter((l) => /no replicated store/.test(l)).length, 1, stderr);
  assert.match(stderr, /no replicated store: PostgreSQL server binaries not found .*install the Debian package "postgresql"/);
  const report = JSON.parse(stdout) as LabReport;
  assert.ok(!report.routes.some((r) => r.id.startsWith('store-')), 'no store routes');
  const drill = await runCli(['lab', '--drill', 'promote', '--ip-prefix', randomIpPrefix(100, 129)], 60_000, env);
  assert.equal(drill.code, 2, drill.stderr);
  assert.match(drill.stderr, /PG_NOT_INSTALLED|PostgreSQL's server binaries are not installed.*"postgresql"/);
});

test('a store that cannot start fails the lab start with a clear error, and leaves no process and no store files', { timeout: 180_000 }, async () => {
  const prefix = randomIpPrefix(100, 129);
  // The primary's address taken: PostgreSQL cannot bind it.
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(5432, `${prefix}.1.50`, r));
  const workdir = mkdtempSync(join(tmpdir(), 'entente-lab-test-'));
  try {
    const { code, stdout } = await runCli(['lab', '--regions', 'eu,us', '--duration', '3', '--workdir', workdir, '--ip-prefix', prefix], 150_000);
    assert.equal(code, 1, stdout.slice(-3000));
    assert.match(stdout, /start failed: the lab's replicated store did not start: .*orders-pg-eu did not start/);
    assert.ok(!existsSync(join(workdir, 'store')), "the store's directory is removed");
    const left = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(workdir));
    assert.deepEqual(left, [], 'no process of this lab is left');
  } finally {
    squatter.close();
    rmSync(workdir, { recursive: true, force: true });
  }
});

/** Every component's log: JSON lines, no key twice on a line, and the lab's expected denials below warn. */
function checkLogs(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  assert.ok(files.some((f) => f.endsWith('-controller.log')) && files.some((f) => f.endsWith('-agent.log')), `component logs in ${dir}: ${files.join(', ')}`);
  let denials = 0;
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const o = JSON.parse(line) as { level: number; msg: string };
      assert.deepEqual(repeatedKeys(line), [], `${f}: a key repeated on ${line}`);
      if (/call denied/.test(o.msg)) {
        denials++;
        assert.ok(o.level < 40, `${f}: an expected denial logged at level ${o.level}: ${line}`);
      }
    }
  }
  assert.ok(denials > 0, 'the denied routes were logged');
}
