// The main command, as a user runs it: `entente lab --duration 20 --json`.
// Three regions, real processes, the emulated WAN; every allowed route must be
// at least 99% ok and every denied route entirely denied. The rate is modest
// (5 req/s per route): this checks behaviour, and must hold on a busy machine;
// throughput is measured by `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabReport } from '../../src/lab/lab.js';
import { randomIpPrefix, runCli } from './lab-harness.js';

test('entente lab --duration 20 --json: allowed routes >= 99% ok, denied routes fully denied', { timeout: 240_000 }, async () => {
  const { code, stdout, stderr } = await runCli(['lab', '--duration', '20', '--json', '--rate', '5', '--ip-prefix', randomIpPrefix(100, 129)], 200_000);
  assert.equal(code, 0, `lab exited ${code}\n${stderr.slice(-3000)}\n${stdout.slice(-3000)}`);
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
  // Cross-region latency reflects the emulated WAN: eu -> us has a 90 ms RTT.
  const euUs = report.routes.find((r) => r.from.region === 'eu' && r.to.region === 'us' && r.expect === 'allow')!;
  assert.ok(euUs.p50Ms! >= 90, `eu->us p50 ${euUs.p50Ms} ms is below the emulated RTT`);
});
