// A controller that reads its resources from Kubernetes, with real
// processes: the controller and an agent (the bundled CLI), a real app, and
// the list/watch double of the API server over HTTPS (no API server can run
// here). Services, EndpointSlices, Pods and ServiceAccounts become the
// mesh's Services and Workloads and the AuthorizationPolicy comes from its
// CRD: frontend calls ledger through the agent. Each pod is on the node its
// spec.nodeName says: the agent of n1 serves (and gets SVIDs for) n1's pods
// only. An endpoint that turns not ready leaves the route, and comes back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { ProcessSupervisor } from '../../src/lab/process-supervisor.js';
import type { KubeApiDouble } from '../../src/kubernetes/api-double.js';
import { endpointSlice, kubePod, startApiFixture, type ApiFixture, PATHS, seedShop } from './api-fixture.js';
import { callThroughProxy } from '../proxy-call.js';

// Third octet 242 of a data-probes prefix (127.231-234): no lab and no other test uses it.
const prefix = `127.${231 + randomInt(0, 4)}.242`;
const base = randomInt(0, 20) * 10;
const ip = { controller: `${prefix}.${base + 1}`, agent: `${prefix}.${base + 2}`, frontend: `${prefix}.${base + 3}`, ledger: `${prefix}.${base + 4}`, elsewhere: `${prefix}.${base + 5}` };
const TD = 'k8s.test';
const ADMIN = `http://${ip.controller}:15000`;
const WAIT = { timeoutMs: 60_000, intervalMs: 250 };
const P = PATHS;

let dir: string;
let supervisor: ProcessSupervisor;
let app: Server;
let api: KubeApiDouble;
let fixture: ApiFixture;

const pod = kubePod;
const slice = (svc: string, endpoints: { pod: string; ip: string; ready?: boolean }[]) => endpointSlice(`${svc}-x1`, svc, endpoints);

const callLedger = (): Promise<number> => callThroughProxy({ proxy: { host: ip.agent, port: 15001 }, url: 'http://ledger.shop.mesh/balance', from: ip.frontend });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-k8s-controller-'));
  supervisor = new ProcessSupervisor(join(dir, 'logs'));
  await mkdir(join(dir, 'resources'), { recursive: true });
  fixture = await startApiFixture({ bookmarkMs: 1000 });
  api = fixture.api;
  seedShop(api);
  api.put(P.pods, pod('frontend-1', 'n1', 'frontend'));
  api.put(P.pods, pod('ledger-1', 'n1', 'ledger'));
  // A pod of another node: its node's agent, not ours, serves it.
  api.put(P.pods, pod('ledger-2', 'n2', 'ledger'));
  api.put(P.slices, slice('frontend', [{ pod: 'frontend-1', ip: ip.frontend }]));
  api.put(P.slices, slice('ledger', [{ pod: 'ledger-1', ip: ip.ledger }, { pod: 'ledger-2', ip: ip.elsewhere }]));
  api.put(P.policies, { metadata: { name: 'ledger-readers', namespace: 'shop' }, spec: { selector: { services: ['ledger'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] } });
  await writeFile(join(dir, 'kubeconfig'), fixture.kubeconfig());
  await writeFile(join(dir, 'region.yaml'), stringify({
    region: 'k8s', trustDomain: TD, dataDir: join(dir, 'data'), resources: join(dir, 'resources'),
    kubernetes: { kubeconfig: join(dir, 'kubeconfig') },
    listen: { agents: `${ip.controller}:15012`, peers: `${ip.controller}:15013`, admin: `${ip.controller}:15000` },
  }));
  app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(8080, ip.ledger, resolve);
  });
  supervisor.start('controller', ['controller', '--config', join(dir, 'region.yaml')]);
  await eventually(async () => (await httpJson(`${ADMIN}/v1/status`)).status === 200, { ...WAIT, what: 'the controller to answer /v1/status' });
  const credential = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
  const token = await httpJson<{ token: string }>(`${ADMIN}/v1/tokens`, { method: 'POST', body: { node: 'n1' }, headers: { authorization: `Bearer ${credential}` } });
  assert.equal(token.status, 200);
  await writeFile(join(dir, 'agent.yaml'), stringify({
    node: 'n1', controller: `https://${ip.controller}:15012`, joinToken: token.body.token, dataDir: join(dir, 'agent-data'),
    listen: { inbound: `${ip.agent}:15008`, httpProxy: `${ip.agent}:15001`, metrics: `${ip.agent}:15020` },
  }));
  supervisor.start('agent', ['agent', '--config', join(dir, 'agent.yaml')]);
});

after(async () => {
  await supervisor?.stop(undefined, 10_000);
  await new Promise((r) => (app ? app.close(r) : r(undefined)));
  await fixture?.close();
  if (process.env.ENTENTE_KEEP_TEST_DIR === undefined) await rm(dir, { recursive: true, force: true });
});

test("the cluster's Services, pods and CRD policy serve a call; each pod on its own node's agent; a not-ready endpoint leaves and returns", { timeout: 180_000 }, async () => {
  await eventually(async () => ((await callLedger()) === 200 ? true : undefined), { ...WAIT, what: 'frontend -> ledger allowed through the agent, from Kubernetes resources alone' });
  const status = (await httpJson<{ workloads: { name: string; node: string; address: string }[]; policy: { ok: boolean } }>(`${ADMIN}/v1/status`)).body;
  assert.equal(status.policy.ok, true);
  assert.deepEqual(status.workloads.map((w) => [w.name, w.node, w.address]).sort(), [['frontend-1', 'n1', ip.frontend], ['ledger-1', 'n1', ip.ledger], ['ledger-2', 'n2', ip.elsewhere]]);
  const agent = (await httpJson<{ workloads: { name: string }[] }>(`http://${ip.agent}:15020/status`)).body;
  assert.deepEqual(agent.workloads.map((w) => w.name).sort(), ['frontend-1', 'ledger-1'], "n1's agent holds n1's pods only (ledger-2 is on n2)");
  // ledger-1 not ready (and ledger-2's node has no agent): the call has no endpoint to go to.
  api.put(P.slices, slice('ledger', [{ pod: 'ledger-1', ip: ip.ledger, ready: false }]));
  await eventually(async () => ((await callLedger()) !== 200 ? true : undefined), { ...WAIT, what: 'the call refused once ledger-1 is not ready' });
  api.put(P.slices, slice('ledger', [{ pod: 'ledger-1', ip: ip.ledger }]));
  await eventually(async () => ((await callLedger()) === 200 ? true : undefined), { ...WAIT, what: 'the call served again once ledger-1 is ready' });
});
