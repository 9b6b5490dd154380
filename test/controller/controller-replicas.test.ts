// Controller replicas coordinated by a real etcd, with real processes: three
// controllers of one region (the bundled CLI), two agents that list all
// three, a gateway that lists them too, a peer region's controller, and a
// real app. Under steady traffic through the agents the leader
// is killed with SIGKILL: another replica leads within a few seconds, no
// request fails, the agents and the gateway reconnect to the survivors, a join token made
// before the kill enrolls a third agent once (and only once), the peer
// region gets a newer signed state from the new leader, and a policy change
// made after it reaches every agent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { ProcessSupervisor } from '../../src/lab/process-supervisor.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { enroll } from '../../src/node/controller-client.js';
import { startEtcd, type EtcdServer } from './etcd-server.js';
import { callThroughProxy } from '../proxy-call.js';

// Third octet 244 of a data-probes prefix (127.231-234): no lab and no other test uses it.
const prefix = `127.${231 + randomInt(0, 4)}.244`;
const base = randomInt(0, 12) * 20;
const at = (n: number): string => `${prefix}.${base + n}`;
const ip = { etcd: at(1), c1: at(2), c2: at(3), c3: at(4), n1: at(5), n2: at(6), n3: at(7), frontend: at(8), ledger: at(9), audit: at(10), gw: at(11), us: at(12) };
const REPLICAS = ['c1', 'c2', 'c3'] as const;
type Replica = (typeof REPLICAS)[number];
const TD = 'replicas.test';
const WAIT = { timeoutMs: 90_000, intervalMs: 250 };
const admin = (r: Replica): string => `http://${ip[r]}:15000`;
const agentsUrl = (r: Replica): string => `https://${ip[r]}:15012`;

let dir: string;
let etcd: EtcdServer | undefined;
let supervisor: ProcessSupervisor;
const apps: Server[] = [];

interface ControllerStatus {
  configVersion?: number;
  replication?: { replica: string; leader?: string; leading: boolean; etcdReachable: boolean };
  nodes: { node: string; connected: boolean }[];
}
interface PeerView {
  region: string;
  version?: number;
  stale: boolean;
}
const usPeerView = async (): Promise<PeerView | undefined> =>
  (await httpJson<{ peers: PeerView[] }>(`http://${ip.us}:15000/v1/status`, { timeoutMs: 5000 }).catch(() => undefined))?.body.peers.find((p) => p.region === 'eu');
interface AgentStatus {
  controllerConnected: boolean;
  configVersion: number;
}
const status = async (r: Replica): Promise<ControllerStatus | undefined> => {
  const s = await httpJson<ControllerStatus>(`${admin(r)}/v1/status`, { timeoutMs: 5000 }).catch(() => undefined);
  return s?.status === 200 ? s.body : undefined;
};
const agentStatus = async (n: 'n1' | 'n2' | 'n3'): Promise<AgentStatus | undefined> => (await httpJson<AgentStatus>(`http://${ip[n]}:15020/status`, { timeoutMs: 5000 }).catch(() => undefined))?.body;
const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: 'shop' }, spec });

/** frontend -> <service> through n1's HTTP proxy: the HTTP status, 0 on a transport error. */
const call = (service: string): Promise<number> => callThroughProxy({ proxy: { host: ip.n1, port: 15001 }, url: `http://${service}.shop.mesh/`, from: ip.frontend, timeoutMs: 15_000 });

async function token(r: Replica, node: string): Promise<string> {
  const credential = (await readFile(join(dir, r, 'data', 'admin.token'), 'utf8')).trim();
  const t = await httpJson<{ token: string }>(`${admin(r)}/v1/tokens`, { method: 'POST', body: { node }, headers: { authorization: `Bearer ${credential}` } });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  return t.body.token;
}

async function startAgent(node: 'n1' | 'n2' | 'n3', joinToken: string, controllers: readonly Replica[]): Promise<void> {
  await writeFile(join(dir, `${node}.yaml`), stringify({
    node, controller: controllers.map(agentsUrl), joinToken, dataDir: join(dir, node),
    listen: { inbound: `${ip[node]}:15008`, httpProxy: `${ip[node]}:15001`, metrics: `${ip[node]}:15020` },
  }));
  supervisor.start(node, ['agent', '--config', join(dir, `${node}.yaml`)]);
}

/** The gateway's metric: 1 while its config stream is open. */
function gatewayConnected(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: ip.gw, port: 15090, path: '/metrics', timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(/^entente_gateway_controller_connected(\{[^}]*\})? 1$/m.test(text)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function serve(address: string, body: string): Promise<void> {
  const app = createServer((_req, res) => res.end(body));
  apps.push(app);
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(8080, address, resolve);
  });
}

async function leaderAmong(replicas: readonly Replica[]): Promise<Replica> {
  return eventually(async () => {
    const leading: Replica[] = [];
    for (const r of replicas) if ((await status(r))?.replication?.leading) leading.push(r);
    return leading.length === 1 ? leading[0] : undefined;
  }, { ...WAIT, what: `exactly one leader among ${replicas.join(', ')}` });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-replicas-'));
  supervisor = new ProcessSupervisor(join(dir, 'logs'));
  etcd = await startEtcd(join(dir, 'etcd'), ip.etcd);
  const resources = join(dir, 'resources');
  await mkdir(resources, { recursive: true });
  await writeFile(join(resources, 'shop.yaml'), [
    doc('Service', 'ledger', { ports: [{ port: 80, targetPort: 8080, protocol: 'http' }] }),
    doc('Service', 'frontend', { ports: [{ port: 80, targetPort: 8080 }] }),
    doc('Workload', 'frontend-1', { service: 'frontend', serviceAccount: 'frontend', node: 'n1', address: ip.frontend }),
    doc('Workload', 'ledger-1', { service: 'ledger', serviceAccount: 'ledger', node: 'n2', address: ip.ledger }),
    doc('AuthorizationPolicy', 'ledger-readers', { selector: { services: ['ledger'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] }),
  ].join('---\n'));
  const stateKey = join(dir, 'state.key');
  await writeFile(stateKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  await chmod(stateKey, 0o600);
  // A peer region (one controller), whose bundle eu needs before it starts; it learns eu's once eu has a CA.
  const usConfig = (peers: unknown[]): string => stringify({
    region: 'us', trustDomain: 'us.replicas.test', dataDir: join(dir, 'us', 'data'), resources: join(dir, 'us-resources'), peers,
    federation: { pullInterval: '500ms' },
    listen: { agents: `${ip.us}:15012`, peers: `${ip.us}:15013`, admin: `${ip.us}:15000` },
  });
  await mkdir(join(dir, 'us-resources'), { recursive: true });
  await writeFile(join(dir, 'us.yaml'), usConfig([]));
  supervisor.start('us', ['controller', '--config', join(dir, 'us.yaml')]);
  await eventually(async () => (await httpJson(`http://${ip.us}:15000/v1/status`).catch(() => undefined))?.status === 200, { ...WAIT, what: 'the us controller' });
  const usPeer = { region: 'us', trustDomain: 'us.replicas.test', url: `https://${ip.us}:15013`, bundle: join(dir, 'us', 'data', 'bundle.json') };
  for (const r of REPLICAS) {
    await writeFile(join(dir, `${r}.yaml`), stringify({
      region: 'eu', trustDomain: TD, dataDir: join(dir, r, 'data'), resources, peers: [usPeer],
      etcd: { endpoints: [etcd.url], replica: r, stateKeyFile: stateKey, leaseTtl: '3s' },
      listen: { agents: `${ip[r]}:15012`, peers: `${ip[r]}:15013`, admin: `${ip[r]}:15000` },
    }));
  }
  await serve(ip.ledger, 'ledger');
  await serve(ip.audit, 'audit');
  // c1 first, so that it leads and both agents start on it: the kill then takes their controller away.
  supervisor.start('c1', ['controller', '--config', join(dir, 'c1.yaml')]);
  await eventually(async () => (await status('c1'))?.replication?.leading, { ...WAIT, what: 'c1 to lead' });
  // us pulls eu from c2, which never leads before the kill: it serves the leader's signature.
  await supervisor.stop(['us'], 10_000);
  await writeFile(join(dir, 'us.yaml'), usConfig([{ region: 'eu', trustDomain: TD, url: `https://${ip.c2}:15013`, bundle: join(dir, 'c1', 'data', 'bundle.json') }]));
  supervisor.start('us', ['controller', '--config', join(dir, 'us.yaml')]);
  for (const r of ['c2', 'c3'] as const) supervisor.start(r, ['controller', '--config', join(dir, `${r}.yaml`)]);
  await eventually(async () => (await status('c2')) && (await status('c3')), { ...WAIT, what: 'c2 and c3 to answer /v1/status' });
  // Tokens from a replica that does not lead: they are the region's, redeemable through any replica.
  await startAgent('n1', await token('c2', 'n1'), ['c1', 'c2', 'c3']);
  await startAgent('n2', await token('c3', 'n2'), ['c1', 'c3', 'c2']);
  const credential = (await readFile(join(dir, 'c2', 'data', 'admin.token'), 'utf8')).trim();
  const gwToken = await httpJson<{ token: string }>(`${admin('c2')}/v1/tokens`, { method: 'POST', body: { node: 'eu-gw', kind: 'gateway' }, headers: { authorization: `Bearer ${credential}` } });
  assert.equal(gwToken.status, 200, JSON.stringify(gwToken.body));
  await writeFile(join(dir, 'gateway.yaml'), stringify({
    name: 'eu-gw', controller: ['c1', 'c2', 'c3'].map((r) => agentsUrl(r as Replica)), joinToken: gwToken.body.token, dataDir: join(dir, 'gw'),
    listen: `${ip.gw}:15443`, metrics: `${ip.gw}:15090`,
  }));
  supervisor.start('gateway', ['gateway', '--config', join(dir, 'gateway.yaml')]);
});

after(async () => {
  await supervisor?.stop(undefined, 10_000);
  for (const a of apps) await new Promise((r) => a.close(r));
  await etcd?.close();
  if (process.env.ENTENTE_KEEP_TEST_DIR === undefined) await rm(dir, { recursive: true, force: true });
});

test('SIGKILL of the leading controller: a new leader within seconds, no request lost, agents reconnect, an old token enrolls once, a later policy reaches every agent', { timeout: 300_000 }, async () => {
  await eventually(async () => ((await call('ledger')) === 200 ? true : undefined), { ...WAIT, what: 'frontend -> ledger through n1 and n2' });
  await eventually(gatewayConnected, { ...WAIT, what: 'the gateway to follow the config stream' });
  assert.equal(await leaderAmong(REPLICAS), 'c1');
  // Every replica pushes the leader's config: same version everywhere.
  const versions = await eventually(async () => {
    const v = await Promise.all(REPLICAS.map(async (r) => (await status(r))?.configVersion));
    return v.every((x) => x !== undefined && x === v[0]) && v;
  }, { ...WAIT, what: 'the three replicas to serve one config version' });
  const spare = await token('c2', 'n3');
  const peerBefore = await eventually(async () => {
    const p = await usPeerView();
    return p && !p.stale && p.version !== undefined && p;
  }, { ...WAIT, what: "us to hold eu's signed state (through c2)" });

  // Steady traffic, bounded: one call after another until told to stop (at most 10 minutes' worth).
  const calls = { ok: 0, failed: [] as { status: number; atMs: number }[] };
  let stopTraffic = false;
  const t0 = Date.now();
  const traffic = (async () => {
    for (let i = 0; i < 20_000 && !stopTraffic; i++) {
      const s = await call('ledger');
      if (s === 200) calls.ok++;
      else calls.failed.push({ status: s, atMs: Date.now() - t0 });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await eventually(() => calls.ok >= 20 || undefined, { ...WAIT, what: 'traffic to flow before the kill' });

  const killedAt = Date.now();
  await supervisor.kill(['c1']);
  const leader = await leaderAmong(['c2', 'c3']);
  const failoverMs = Date.now() - killedAt;
  console.log(`# new leader ${leader} ${failoverMs} ms after SIGKILL of c1 (leaseTtl 3 s)`);
  // The lease (3 s) must run out first; "a few seconds" on a loaded machine.
  assert.ok(failoverMs < 30_000, `new leader after ${failoverMs} ms`);

  // Both agents were on c1: they move to the next replica in their lists.
  await eventually(async () => {
    const s = await status(leader);
    const connected = new Set(s?.nodes.filter((n) => n.connected).map((n) => n.node));
    return connected.has('n1') && connected.has('n2') && connected.has('eu-gw') && (await agentStatus('n1'))?.controllerConnected && (await agentStatus('n2'))?.controllerConnected && (await gatewayConnected());
  }, { ...WAIT, what: 'n1, n2 and the gateway to reconnect to a surviving replica' });

  // Peers keep the highest version of a region's state: the new leader's must be above the old one's.
  await eventually(async () => {
    const p = await usPeerView();
    return p && !p.stale && (p.version ?? 0) > peerBefore.version! && p;
  }, { ...WAIT, what: `us to accept a state of eu newer than version ${peerBefore.version} from the new leader` });

  // A token made before the kill: works once, through another replica than the one that made it.
  await startAgent('n3', spare, ['c3', 'c2']);
  await eventually(async () => (await agentStatus('n3'))?.controllerConnected, { ...WAIT, what: 'n3 to enroll with the token made before the kill' });
  await assert.rejects(enroll(agentsUrl('c2'), spare, 'n3', 'agent'), (err: Error & { code?: string }) => err.code === 'TOKEN_REPLAYED', 'the second use of the token is refused');

  // A policy change after the kill: a new service on n2 that frontend may call.
  await writeFile(join(dir, 'resources', 'audit.yaml'), [
    doc('Service', 'audit', { ports: [{ port: 80, targetPort: 8080, protocol: 'http' }] }),
    doc('Workload', 'audit-1', { service: 'audit', serviceAccount: 'audit', node: 'n2', address: ip.audit }),
    doc('AuthorizationPolicy', 'audit-readers', { selector: { services: ['audit'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] }),
  ].join('---\n'));
  await eventually(async () => ((await call('audit')) === 200 ? true : undefined), { ...WAIT, what: 'frontend -> audit, declared after the kill' });
  const after = await eventually(async () => {
    const v = (await status(leader))?.configVersion;
    const others = await Promise.all([status(leader === 'c2' ? 'c3' : 'c2'), agentStatus('n1'), agentStatus('n2'), agentStatus('n3')]);
    return v !== undefined && v > versions[0]! && others.every((o) => o?.configVersion === v) && v;
  }, { ...WAIT, what: "every agent and the other replica to hold the new leader's config" });
  assert.ok(after > versions[0]!, 'versions only grow across leaders');

  stopTraffic = true;
  await traffic;
  console.log(`# ${calls.ok} calls through the failover, ${calls.failed.length} failed`);
  assert.ok(calls.ok > 20, `only ${calls.ok} calls went through`);
  assert.deepEqual(calls.failed, [], 'no request lost while the leader died and another took over');
});
