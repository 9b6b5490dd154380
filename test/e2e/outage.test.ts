// A region loses its controller. Part 1, real processes: eu's controller is
// killed and eu's agents are restarted while it is down; they start from
// their disk cache and traffic keeps flowing, locally and across regions, on
// cached identities. Part 2, in-process: once a cached SVID expires, the data
// plane refuses that workload's traffic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { Registry } from 'prom-client';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { silentLogger } from '../../src/core/log.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import type { Lab } from '../../src/lab/lab.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { toWireBundle } from '../../src/mesh/wire-bundle.js';
import type { MeshConfig } from '../../src/mesh/mesh-config.js';
import { API_VERSION, AuthorizationPolicySchema } from '../../src/policy/resources.js';
import { NodeState, type StoredCredential } from '../../src/node/node-state.js';
import { SvidManager } from '../../src/node/svid-manager.js';
import { ControllerClient } from '../../src/node/controller-client.js';
import { startDataplane, type Dataplane } from '../../src/agent/dataplane/index.js';
import { buildDataplaneSnapshot } from '../../src/agent/build-dataplane-snapshot.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';

exitWatchdog();

const run = promisify(execFile);

describe('eu loses its controller; its agents restart from their disk cache', () => {
  let lab: Lab;
  const workload = (service: string) => lab.topology.workloads.find((w) => w.service === service)!;
  const region = (name: string) => lab.topology.regions.find((r) => r.name === name)!;
  const agentIp = (node: string) => lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === node)!.ip;

  /** curl from a workload's own address through its node agent's proxy; the HTTP status, or 0 when curl failed. */
  async function call(from: string, url: string): Promise<{ status: number; out: string }> {
    const w = workload(from);
    const args = ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', '--interface', w.address, '-x', `http://${agentIp(w.node)}:${PORTS.agentProxy}`, url];
    try {
      const { stdout } = await run('curl', args);
      return { status: Number(stdout), out: stdout };
    } catch (err) {
      const e = err as { stdout?: string; message: string };
      return { status: Number(e.stdout ?? 0) || 0, out: e.message };
    }
  }

  before(async () => {
    // 30-99: mesh.test uses 175-250 and lab.test 100-174.
    lab = await startTestMesh(['eu', 'us'], randomIpPrefix(30, 59));
  });
  after(async () => {
    await lab?.stop();
  });

  test('local and cross-region calls keep working on cached SVIDs, config and bundles', async () => {
    // The demo has no allowed eu -> eu route: allow frontend -> ledger (GET) in eu, a region-local rule.
    const eu = region('eu');
    const euDir = join(lab.workdir, 'eu');
    await writeFile(
      join(euDir, 'resources', 'outage-local.yaml'),
      stringify({
        apiVersion: API_VERSION,
        kind: 'AuthorizationPolicy',
        metadata: { name: 'ledger-local-readers', namespace: 'shop' },
        spec: { selector: { services: ['ledger'] }, action: 'ALLOW', rules: [{ from: [{ principals: [`spiffe://${eu.trustDomain}/ns/shop/sa/frontend`] }], to: [{ methods: ['GET'] }] }] },
      }),
    );
    const credential = (await readFile(join(euDir, 'controller-data', 'admin.token'), 'utf8')).trim();
    const reload = await httpJson(`${lab.adminUrl('eu')}/v1/resources/reload`, { method: 'POST', headers: { authorization: `Bearer ${credential}` } });
    assert.equal(reload.status, 200);
    const routes = [
      { from: 'frontend', url: 'http://ledger.shop.eu.mesh/balance', want: 200, what: 'eu -> eu (local, direct between agents)' },
      { from: 'catalog', url: 'http://ledger.shop.eu.mesh/balance', want: 200, what: 'us -> eu (through eu gateway)' },
      { from: 'frontend', url: 'http://catalog.shop.us.mesh/items', want: 200, what: 'eu -> us' },
      { from: 'reviews', url: 'http://ledger.shop.eu.mesh/balance', want: 403, what: 'us -> eu, no ALLOW rule: still denied' },
    ];
    const check = async (): Promise<string[]> => {
      const bad: string[] = [];
      for (const r of routes) {
        const got = await call(r.from, r.url);
        if (got.status !== r.want) bad.push(`${r.what}: ${r.from} -> ${r.url} gave ${got.status} (${got.out}), want ${r.want}`);
      }
      return bad;
    };
    let lastBad: string[] = [];
    await eventually(async () => (lastBad = await check()).length === 0, { timeoutMs: 60_000, intervalMs: 300, what: `every route before the outage (${lastBad.join('; ')})` });

    // The outage: eu's controller dies, and eu's agents restart while it is down.
    await lab.supervisor.stop(['eu-controller']);
    const agents = eu.agents.map((a) => a.node);
    await lab.supervisor.stop(agents.map((n) => `${n}-agent`));
    for (const n of agents) lab.supervisor.start(`${n}-agent`, ['agent', '--config', join(euDir, `agent-${n}.yaml`)]);

    type AgentStatus = { controllerConnected: boolean; configVersion: number; svidSecondsLeft?: number; workloads: { name: string; svidNotAfter?: string }[] };
    for (const n of agents) {
      const st = await eventually(
        async () => {
          const r = await httpJson<AgentStatus>(`http://${agentIp(n)}:${PORTS.agentMetrics}/status`);
          return r.status === 200 && r.body;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: `restarted agent ${n} to answer /status` },
      );
      assert.equal(st.controllerConnected, false, `${n}: the controller is down`);
      assert.ok(st.configVersion > 0, `${n}: started from the config cached on disk`);
      assert.ok(st.workloads.length > 0 && st.workloads.every((w) => w.svidNotAfter), `${n}: every workload has its cached SVID`);
      assert.ok(st.svidSecondsLeft !== undefined && st.svidSecondsLeft > 60 && st.svidSecondsLeft <= 3600, `${n}: svidSecondsLeft ${st.svidSecondsLeft}`);
    }
    // us no longer hears from eu: eu's state goes stale at us, but its routes are kept (demoted).
    await eventually(
      async () => {
        const st = await httpJson<{ peers: { region: string; reachable: boolean; stale: boolean; exportedServices: string[] }[] }>(`${lab.adminUrl('us')}/v1/status`);
        const p = st.body.peers.find((x) => x.region === 'eu');
        return p && !p.reachable && p.stale && p.exportedServices.length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'us to see eu unreachable and stale, routes kept' },
    );
    await eventually(async () => (lastBad = await check()).length === 0, { timeoutMs: 60_000, intervalMs: 300, what: `every route during the outage (${lastBad.join('; ')})` });
    // And it keeps working: a second round, no retries.
    assert.deepEqual(await check(), []);
  });
});

describe('cached SVIDs expire during the outage', () => {
  // The SVID TTL floor is 5 minutes (a product rule, not lowered here), and a
  // process cannot be given a fake clock from outside. So this runs at the
  // node level in-process, with the real SvidManager, data plane and TLS: the
  // CA's clock is set almost 5 minutes in the past, so a 5-minute SVID it
  // issues really expires a few seconds after the test starts. The node's
  // controller is unreachable (nothing listens at its URL), as in an outage.
  const dirs: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('the data plane refuses a workload\'s traffic once its cached SVID has expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entente-expiry-'));
    dirs.push(dir);
    const prefix = `127.${randomInt(20, 250)}.${randomInt(100, 250)}`;
    const td = parseTrustDomain('eu.expiry.test');
    const EXPIRES_IN_MS = 4000;
    let skewMs = 5 * 60_000 - EXPIRES_IN_MS;
    const ca = await LocalCa.loadOrCreate(join(dir, 'ca'), td, { now: () => Date.now() - skewMs });
    const stored = async (sa: string): Promise<StoredCredential> => {
      const keys = await generateKeyPair();
      const svid = await ca.issue(SpiffeId.forWorkload(td, 'shop', sa), keys.publicKey, 5 * 60_000);
      return { spiffeId: svid.spiffeId.toString(), keyPem: await privateKeyToPem(keys.privateKey), chainPem: svid.chainPem, notBefore: new Date(Date.now() - skewMs - 60_000).toISOString(), notAfter: svid.notAfter.toISOString() };
    };
    // Node A hosts frontend, whose cached SVID is about to expire; node B hosts ledger, with a long-lived one.
    const frontendCred = await stored('frontend');
    skewMs = 0;
    const ledgerCred = await stored('ledger');
    const nodeA = { ip: `${prefix}.11`, app: `${prefix}.101` };
    const nodeB = { ip: `${prefix}.12`, app: `${prefix}.102` };
    const config: MeshConfig = {
      version: 7,
      region: 'eu',
      trustDomain: td,
      bundles: { [td]: toWireBundle(ca.bundle()) },
      services: ['frontend', 'ledger'].map((name) => ({ namespace: 'shop', name, ports: [{ port: 80, targetPort: 8080, protocol: 'http' as const }], export: false })),
      workloads: [
        { name: 'frontend-1', namespace: 'shop', service: 'frontend', serviceAccount: 'frontend', node: 'node-a', address: nodeA.app },
        { name: 'ledger-1', namespace: 'shop', service: 'ledger', serviceAccount: 'ledger', node: 'node-b', address: nodeB.app },
      ],
      nodes: { 'node-a': `${nodeA.ip}:15008`, 'node-b': `${nodeB.ip}:15008` },
      remoteRegions: [],
      authorizationPolicies: [
        AuthorizationPolicySchema.parse({
          apiVersion: API_VERSION,
          kind: 'AuthorizationPolicy',
          metadata: { name: 'ledger-readers', namespace: 'shop' },
          spec: { selector: { services: ['ledger'] }, rules: [{ from: [{ principals: [`spiffe://${td}/ns/shop/sa/frontend`] }] }] },
        }),
      ],
      policyDigest: 'test',
    };

    const startNode = async (node: 'node-a' | 'node-b', ip: string, cred: StoredCredential, workloadName: string): Promise<{ svids: SvidManager; dataplane: Dataplane }> => {
      const state = new NodeState(join(dir, node));
      state.saveEnrollment({ node, kind: 'agent', region: 'eu', trustDomain: td, caPem: ca.caCertPem });
      state.saveWorkloadCredential(`shop/${workloadName}`, cred);
      state.saveConfig(config);
      // The controller is down: nothing listens at this address.
      const client = new ControllerClient({ urls: [`https://${prefix}.1:15012`], enrollment: state.enrollment()!, credential: () => cred, log: silentLogger() });
      const svids = new SvidManager(state, () => client, silentLogger());
      const local = config.workloads.filter((w) => w.node === node);
      svids.setWorkloads(local.map((w) => ({ namespace: w.namespace, name: w.name, serviceAccount: w.serviceAccount })));
      svids.start();
      const dataplane = await startDataplane({
        inbound: { host: ip, port: 15008 },
        httpProxy: { host: ip, port: 15001 },
        snapshot: buildDataplaneSnapshot(config, { node, outboundPorts: [] }),
        credentials: { credentialsFor: (w) => svids.credentialsFor(w) },
        log: silentLogger(),
        registry: new Registry(),
      });
      closers.push(() => svids.stop(), () => dataplane.close());
      return { svids, dataplane };
    };
    const app: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ledger\n'));
    await new Promise<void>((resolve) => app.listen(8080, nodeB.app, resolve));
    closers.push(() => new Promise<void>((r) => {
      app.closeAllConnections();
      app.close(() => r());
    }));
    const a = await startNode('node-a', nodeA.ip, frontendCred, 'frontend-1');
    await startNode('node-b', nodeB.ip, ledgerCred, 'ledger-1');

    /** GET http://ledger.shop.mesh/ from frontend's address through node A's proxy; status and body. */
    const get = (): Promise<{ status: number; body: string }> =>
      new Promise((resolve) => {
        const req = request({ host: nodeA.ip, port: 15001, path: 'http://ledger.shop.mesh/', localAddress: nodeA.app, agent: false, timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (e) => resolve({ status: 0, body: e.message }));
        req.end();
      });

    const before = await get();
    assert.equal(before.status, 200, `before expiry: ${before.body}`);
    assert.equal(before.body, 'ledger\n');
    const left = a.svids.secondsLeft();
    assert.ok(left !== undefined && left > 0 && left <= EXPIRES_IN_MS / 1000 + 1, `secondsLeft ${left}`);

    // Renewal keeps failing (no controller); the SVID reaches notAfter and the data plane gets no credentials.
    const refused = await eventually(
      async () => {
        const r = await get();
        return r.status !== 200 && r;
      },
      { timeoutMs: EXPIRES_IN_MS + 10_000, intervalMs: 250, what: 'refusal after the SVID expired' },
    );
    assert.equal(refused.status, 502);
    assert.match(refused.body, /workload shop\/frontend-1 has no valid SVID/);
    assert.ok(Date.parse(frontendCred.notAfter) <= Date.now(), 'refused only once notAfter has passed');
    assert.equal(a.svids.credentialsFor({ namespace: 'shop', name: 'frontend-1' }), undefined);
    assert.ok(a.svids.secondsLeft()! <= 0);
    // It stays refused: nothing on the node can mint a new SVID without the controller.
    assert.equal((await get()).status, 502);
  });
});
