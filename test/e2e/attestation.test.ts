// Finding 1 of issue 7, end to end with real processes: another local user
// binding frontend's address and calling through frontend's agent
// (`runuser -u nobody -- curl --interface <frontend> -x <agent proxy> -X POST
// http://payments.shop.mesh/charge`) must not be charged as frontend; the
// lab's own demo apps (its uid, its node executable) keep being served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { PORTS } from '../../src/lab/lab-topology.js';
import { labAttest } from '../../src/lab/lab-resources.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { Lab } from '../../src/lab/lab.js';
import type { FlowRecord } from '../../src/agent/dataplane/observe/flow-record.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';

exitWatchdog();

let lab: Lab;
before(async () => {
  // The lab's own selectors (its uid and node executable), as `entente lab` declares them.
  lab = await startTestMesh(['eu', 'us', 'ap'], randomIpPrefix(63, 79), { traffic: true, attest: labAttest() });
});
after(async () => {
  await lab?.stop();
});

const frontend = () => lab.topology.workloads.find((w) => w.service === 'frontend')!;
const agentIp = () => lab.topology.regions.find((r) => r.name === frontend().region)!.agents.find((a) => a.node === frontend().node)!.ip;

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }));
  });
}

const flows = async (): Promise<FlowRecord[]> => (await httpJson<FlowRecord[]>(`http://${agentIp()}:${PORTS.agentMetrics}/flows`)).body;

test('runuser -u nobody -- curl from frontend\'s address through its agent is refused 403, with the mismatch, recorded as a deny flow', async () => {
  const proxy = `http://${agentIp()}:${PORTS.agentProxy}`;
  const r = await run('runuser', ['-u', 'nobody', '--', 'curl', '-s', '-i', '-m', '20', '--interface', frontend().address, '-x', proxy, '-X', 'POST', 'http://payments.shop.mesh/charge']);
  assert.match(r.out, /^HTTP\/1\.1 403/, `${r.out}\n${r.err}`);
  const node = realpathSync(process.execPath);
  const want = `does not match workload shop/${frontend().name}: uid 65534 is not ${process.getuid!()}; executable ${realpathSync('/usr/bin/curl')} is not ${node}`;
  assert.ok(r.out.includes(want), `${r.out}\nexpected the reason: ${want}`);
  assert.match(r.out, /x-entente-deny-reason: process \d+ \(/);
  const deny = await eventually(async () => (await flows()).find((f) => f.verdict === 'deny' && f.sourceAddress === frontend().address && (f.reason ?? '').includes(want)), {
    timeoutMs: 30_000,
    what: 'the deny flow at frontend\'s agent',
  });
  assert.equal(deny.attested, false);
  const metrics = (await run('curl', ['-s', '-m', '20', `http://${agentIp()}:${PORTS.agentMetrics}/metrics`])).out;
  assert.match(metrics, /entente_agent_refused_connections_total\{reason="attestation_failed"[^}]*\} [1-9]/);
});

test('the lab\'s own demo apps (its uid, its node executable) are attested and served, frontend -> payments included', async () => {
  await eventually(
    async () => {
      await lab.collect();
      const routes = lab.report().routes.filter((r) => r.expect === 'allow');
      return routes.every((r) => r.ok >= 2) && routes;
    },
    { timeoutMs: 60_000, what: 'every allowed demo route to carry traffic' },
  );
  const charge = lab.report().routes.find((r) => r.id === 'frontend->payments')!;
  assert.ok(charge.ok >= 2, JSON.stringify(charge));
  const allowed = (await flows()).filter((f) => f.verdict === 'allow' && f.service === 'shop/payments');
  assert.ok(allowed.length > 0, 'frontend\'s agent carried its calls to payments');
  assert.ok(allowed.every((f) => f.attested === true), JSON.stringify(allowed.slice(0, 2)));
});
