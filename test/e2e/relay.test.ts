// End to end, real processes: gateways probe each other, a one-way cut
// (eu cannot reach ap; ap still reaches eu, us reaches both) is seen by eu's
// gateway, eu's controller picks us as the relay, and frontend (eu) ->
// shipping (ap) keeps working through us's gateway with the mTLS still end
// to end between the two agents. Healed, traffic goes back to the direct path.
// frontend -> shipping is the route: only ap hosts shipping (payments has a
// replica in us too, which eu would simply prefer).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Lab } from '../../src/lab/lab.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { eventually } from '../../src/core/eventually.js';
import { randomIpPrefix, startTestMesh } from './lab-harness.js';

const run = promisify(execFile);
let lab: Lab;

before(async () => {
  lab = await startTestMesh(['eu', 'us', 'ap'], randomIpPrefix(235, 240));
});
after(async () => {
  await lab?.stop();
});

interface PeerView {
  region: string;
  link?: { reachable: boolean; rttMs?: number; loss?: number };
  relays: { via: string; rttMs?: number }[];
}
interface FlowView {
  service?: string;
  verdict: string;
  reason?: string;
  regionPath?: string;
  time: number;
}

const peersOf = async (region: string): Promise<PeerView[]> => (await httpJson<{ peers: PeerView[] }>(`${lab.adminUrl(region)}/v1/status`)).body.peers;

/** GET /quote from shipping (only in ap) as frontend, through its agent: the HTTP status (0 when curl failed). */
async function quote(): Promise<number> {
  const w = lab.topology.workloads.find((x) => x.service === 'frontend')!;
  const agent = lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === w.node)!;
  try {
    const { stdout } = await run('curl', ['-s', '-m', '30', '-o', '/dev/null', '-w', '%{http_code}', '--interface', w.address, '-x', `http://${agent.ip}:${PORTS.agentProxy}`, 'http://shipping.shop.mesh/quote']);
    return Number(stdout);
  } catch (err) {
    return Number((err as { stdout?: string }).stdout ?? 0) || 0;
  }
}

async function frontendFlows(): Promise<FlowView[]> {
  const w = lab.topology.workloads.find((x) => x.service === 'frontend')!;
  const agent = lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === w.node)!;
  return (await httpJson<FlowView[]>(`http://${agent.ip}:${PORTS.agentMetrics}/flows`)).body ?? [];
}

async function frontendBalancers(): Promise<{ destination: string; levels: { path?: string }[] }[]> {
  const w = lab.topology.workloads.find((x) => x.service === 'frontend')!;
  const agent = lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === w.node)!;
  return (await httpJson<{ destination: string; levels: { path?: string }[] }[]>(`http://${agent.ip}:${PORTS.agentMetrics}/balancers`)).body ?? [];
}

function cut(from: string, to: string, mode: 'blackhole' | false): void {
  for (const port of [PORTS.gateway, PORTS.controllerPeers]) lab.links.get(`${from}->${to}:${port}`)!.setPartitioned(mode);
}

test('gateways probe their peers: every region sees every link reachable, and relays to each peer through the third', async () => {
  for (const region of ['eu', 'us', 'ap']) {
    await eventually(async () => {
      const peers = await peersOf(region);
      return peers.length === 2 && peers.every((p) => p.link?.reachable === true && typeof p.link.rttMs === 'number' && p.relays.length === 1);
    }, { timeoutMs: 60_000, what: `${region} to see both peers reachable, each with a relay` });
  }
  const eu = await peersOf('eu');
  assert.equal(eu.find((p) => p.region === 'ap')!.relays[0]!.via, 'us');
  assert.equal(eu.find((p) => p.region === 'us')!.relays[0]!.via, 'ap');
});

test('a one-way cut eu -> ap: eu sees ap unreachable, frontend -> shipping goes on through us, and back once healed', async () => {
  // Warm: the direct path carries the calls.
  for (let i = 0; i < 3; i++) assert.equal(await quote(), 200);
  const warm = await frontendFlows();
  assert.ok(warm.some((f) => f.service === 'shop/shipping' && f.regionPath === 'eu>ap'), `direct path expected, got ${JSON.stringify(warm.map((f) => f.regionPath))}`);

  const cutAt = Date.now();
  cut('eu', 'ap', 'blackhole');
  try {
    // Calls go on while the probes find out and after: every one must succeed (a GET cut with its path is sent again on the next one).
    const statuses: number[] = [];
    const seen = await eventually(async () => {
      statuses.push(await quote());
      const peers = await peersOf('eu');
      const ap = peers.find((p) => p.region === 'ap')!;
      return ap.link?.reachable === false && ap.relays.some((r) => r.via === 'us') ? ap : undefined;
    }, { timeoutMs: 60_000, what: "eu's gateway to find ap unreachable" });
    assert.ok(seen);
    for (let i = 0; i < 20; i++) statuses.push(await quote());
    const flows = (await frontendFlows()).filter((f) => f.service === 'shop/shipping' && f.time > cutAt);
    assert.deepEqual(statuses.filter((s) => s !== 200), [], `every call during the cut succeeds (${statuses.length} calls); flows: ${JSON.stringify(flows.filter((f) => f.verdict !== 'allow'))}`);
    assert.ok(flows.some((f) => f.regionPath === 'eu>us>ap'), `relayed path expected in the flow records, got ${JSON.stringify(flows.map((f) => f.regionPath))}`);
    // The agent's /balancers shows why: the relay through us heads shipping's pick order, the cut direct path is behind it.
    const balancing = await frontendBalancers();
    const shipping = balancing.find((d) => d.destination.startsWith('shipping.shop.mesh'));
    assert.ok(shipping, `a balancer for shipping expected, got ${JSON.stringify(balancing.map((d) => d.destination))}`);
    const paths = shipping.levels.map((l) => l.path).filter((p) => p !== undefined);
    assert.equal(paths[0], 'ap>us', `pick order during the cut: ${JSON.stringify(paths)}`);
    assert.ok(paths.indexOf('ap') > 0, `the cut direct path ranks after the relay: ${JSON.stringify(paths)}`);
    // us's gateway counted what it relayed.
    const metrics = await (await fetch(`http://${lab.topology.regions[1]!.gatewayIp}:${PORTS.gatewayMetrics}/metrics`)).text();
    assert.match(metrics, /entente_gateway_connections_total\{[^}]*result="relayed"[^}]*\} [1-9]/);
  } finally {
    cut('eu', 'ap', false);
  }

  const healedAt = Date.now();
  await eventually(async () => (await peersOf('eu')).find((p) => p.region === 'ap')?.link?.reachable === true, { timeoutMs: 60_000, what: 'eu to see ap reachable again' });
  // Slow start: the direct path takes a growing share; within its window every call keeps succeeding.
  const after: number[] = [];
  await eventually(async () => {
    after.push(await quote());
    return (await frontendFlows()).some((f) => f.service === 'shop/shipping' && f.time > healedAt && f.regionPath === 'eu>ap');
  }, { timeoutMs: 60_000, what: 'frontend -> shipping back on the direct path' });
  assert.deepEqual(after.filter((s) => s !== 200), [], `every call after the heal succeeds (${after.length} calls)`);
});
