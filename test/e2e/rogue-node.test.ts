// A node gone rogue tries to poison its region, against a real two-region mesh
// (every component its own process): with a real enrolled node identity it
// opens the config stream advertising garbage, an out-of-range port, the
// controller's own agent API and another node's address. Every claim is
// refused; the other agents and the gateway keep serving, and they restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import type { Lab } from '../../src/lab/lab.js';
import { enroll } from '../../src/node/controller-client.js';
import { openConfigStream } from '../controller/config-stream-client.js';
import { exitWatchdog, randomIpPrefix, startTestMesh, curlAs } from './lab-harness.js';

exitWatchdog();


type Status = { nodes: { node: string; kind: string; advertise?: string; connected: boolean }[] };

describe('a rogue node cannot poison its region', () => {
  let lab: Lab;
  const region = (name: string) => lab.topology.regions.find((r) => r.name === name)!;

  const call = (from: string, url: string): Promise<number> => curlAs(lab, from, url);
  const routes = [
    { from: 'catalog', url: 'http://ledger.shop.eu.mesh/balance', want: 200, what: 'us -> eu through the eu gateway' },
    { from: 'frontend', url: 'http://catalog.shop.us.mesh/items', want: 200, what: 'eu -> us' },
  ];
  async function routesWork(): Promise<boolean> {
    for (const r of routes) if ((await call(r.from, r.url)) !== r.want) return false;
    return true;
  }
  const euStatus = async (): Promise<Status> => (await httpJson<Status>(`${lab.adminUrl('eu')}/v1/status`)).body;
  const allConnected = async (): Promise<boolean> => {
    const st = await euStatus();
    return ['eu-node-1', 'eu-node-2', 'eu-gateway'].every((n) => st.nodes.find((x) => x.node === n)?.connected);
  };

  before(async () => {
    lab = await startTestMesh(['eu', 'us'], randomIpPrefix(80, 83));
  });
  after(async () => {
    await lab?.stop();
  });

  test('bad and foreign advertise values are refused; agents and the gateway keep working and restart', async () => {
    const eu = region('eu');
    await eventually(routesWork, { timeoutMs: 60_000, intervalMs: 300, what: 'the routes before the attack' });
    const earlier = await euStatus();

    // A real enrolled identity: the rogue holds a node SVID of eu.
    const credential = (await readFile(join(lab.workdir, 'eu', 'controller-data', 'admin.token'), 'utf8')).trim();
    const t = await httpJson<{ token: string }>(`${lab.adminUrl('eu')}/v1/tokens`, { method: 'POST', body: { node: 'rogue-1', kind: 'agent' }, headers: { authorization: `Bearer ${credential}` } });
    assert.equal(t.status, 200);
    const agentsApi = { host: eu.controllerIp, port: PORTS.controllerAgents };
    const rogue = await enroll(`https://${eu.controllerIp}:${PORTS.controllerAgents}`, t.body.token, 'rogue-1', 'agent');
    const rogueIp = eu.controllerIp.replace(/\.1$/, '.50');

    const attempts = [
      { advertise: 'not-an-address', from: rogueIp },
      { advertise: '127.0.0.1:99999', from: rogueIp },
      // The controller's agent API, claimed from the controller's own host address.
      { advertise: `${eu.controllerIp}:${PORTS.controllerAgents}`, from: eu.controllerIp },
      // Another node's inbound address: traffic for eu-node-1 would go to the rogue's choice.
      { advertise: `${eu.agents[0]!.ip}:${PORTS.agentInbound}`, from: rogueIp },
    ];
    for (const a of attempts) {
      const r = await openConfigStream(agentsApi, rogue, a.advertise, a.from);
      assert.equal(r.status, 400, `${a.advertise} from ${a.from} was accepted`);
      assert.equal((r.body.error as { code?: string } | undefined)?.code, 'BAD_ADVERTISE');
    }

    // The registry is unchanged: no agent's address moved, the rogue advertises nothing.
    const later = await euStatus();
    for (const n of earlier.nodes) assert.equal(later.nodes.find((x) => x.node === n.node)?.advertise, n.advertise, `${n.node} keeps its address`);
    assert.equal(later.nodes.find((n) => n.node === 'rogue-1')?.advertise, undefined);
    const metrics = await (await fetch(`${lab.adminUrl('eu')}/metrics`)).text();
    assert.match(metrics, /entente_controller_advertise_refused_total\{[^}]*\} [1-9]/);
    await eventually(routesWork, { timeoutMs: 60_000, intervalMs: 300, what: 'the routes after the attack' });

    // Everyone can restart (today's failure: the poisoned cache made them exit with BAD_ADDRESS).
    const restart = ['eu-node-1-agent', 'eu-node-2-agent', 'eu-gateway'];
    await lab.supervisor.stop(restart);
    for (const a of eu.agents) lab.supervisor.start(`${a.node}-agent`, ['agent', '--config', join(lab.workdir, 'eu', `agent-${a.node}.yaml`)]);
    lab.supervisor.start('eu-gateway', ['gateway', '--config', join(lab.workdir, 'eu', 'gateway.yaml')]);
    await eventually(allConnected, { timeoutMs: 60_000, intervalMs: 300, what: 'restarted eu agents and gateway to connect' });
    for (const name of restart) assert.equal(lab.supervisor.running().some((p) => p.name === name), true, `${name} runs`);
    await eventually(routesWork, { timeoutMs: 60_000, intervalMs: 300, what: 'the routes after the restarts' });
    assert.deepEqual(lab.report().unexpectedExits, []);
  });
});
