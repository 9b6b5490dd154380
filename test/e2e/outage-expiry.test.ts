// A region loses its controller for longer than its SVIDs live. With real
// processes and the shortest TTL the product allows (5 minutes): eu's
// controller dies, eu's agents restart from their disk cache and keep serving
// until the cached SVIDs expire — then eu's workloads are refused, both as
// callers and as destinations. This test waits those minutes on purpose.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import type { Lab } from '../../src/lab/lab.js';
import { exitWatchdog, randomIpPrefix, startTestMesh, curlAs } from './lab-harness.js';

exitWatchdog();

let lab: Lab;

before(async () => {
  // 10-29: the other e2e files use 30-250.
  lab = await startTestMesh(['eu', 'us'], randomIpPrefix(10, 29), { svidTtl: '5m' });
});
after(async () => {
  await lab?.stop();
});

const workload = (service: string) => lab.topology.workloads.find((w) => w.service === service)!;
const agentIp = (node: string) => lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === node)!.ip;

const status = (from: string, url: string): Promise<number> => curlAs(lab, from, url);

test('cached SVIDs carry eu through a controller outage until they expire, then eu is refused', { timeout: 600_000 }, async () => {
  const eu = lab.topology.regions.find((r) => r.name === 'eu')!;
  await lab.supervisor.stop(['eu-controller']);
  const agents = eu.agents.map((a) => a.node);
  await lab.supervisor.stop(agents.map((n) => `${n}-agent`));
  for (const n of agents) lab.supervisor.start(`${n}-agent`, ['agent', '--config', join(lab.workdir, 'eu', `agent-${n}.yaml`)]);

  // Before expiry: eu -> us and us -> eu work on the cached identities.
  await eventually(async () => (await status('frontend', 'http://catalog.shop.us.mesh/items')) === 200, { timeoutMs: 60_000, what: 'eu -> us on cached SVIDs' });
  await eventually(async () => (await status('catalog', 'http://ledger.shop.eu.mesh/balance')) === 200, { timeoutMs: 60_000, what: 'us -> eu on cached SVIDs' });
  const st = (await httpJson<{ svidSecondsLeft: number }>(`http://${agentIp(workload('frontend').node)}:${PORTS.agentMetrics}/status`)).body;
  assert.ok(st.svidSecondsLeft > 0 && st.svidSecondsLeft <= 300, `frontend's agent reports ${st.svidSecondsLeft} s left`);

  // After expiry (<= 5 minutes from issuance): refused both ways; us's own SVIDs are renewed by its controller.
  await eventually(
    async () => {
      const [out, into] = await Promise.all([status('frontend', 'http://catalog.shop.us.mesh/items'), status('catalog', 'http://ledger.shop.eu.mesh/balance')]);
      return out !== 200 && into !== 200;
    },
    { timeoutMs: 420_000, intervalMs: 2000, what: 'eu traffic to be refused once its SVIDs expired' },
  );
  const after = (await httpJson<{ svidSecondsLeft: number; controllerConnected: boolean }>(`http://${agentIp(workload('frontend').node)}:${PORTS.agentMetrics}/status`)).body;
  assert.equal(after.controllerConnected, false);
  assert.ok(after.svidSecondsLeft <= 0, `the agent reports the SVID expired (${after.svidSecondsLeft} s left)`);
  // A us workload calling another us service is unaffected (control): reviews is allowed from the shop namespace.
  assert.equal(await status('catalog', 'http://reviews.shop.us.mesh/reviews'), 200);
});
