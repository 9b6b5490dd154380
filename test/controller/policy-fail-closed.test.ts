// Policy fails closed (issue 7, finding 6), with real processes: a controller
// and an agent (the bundled CLI) and a real app. A reload with a misspelt
// selector is refused and changes nothing; a controller restarted over a broken
// policy directory serves its last good set, its agent keeps serving, and
// config versions only grow across restarts; one with no saved set pushes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { ProcessSupervisor } from '../../src/lab/process-supervisor.js';
import { controllerConfigSchema } from '../../src/controller/controller-config.js';
import { startController as startInProcess } from '../../src/controller/controller.js';
import { silentLogger } from '../../src/core/log.js';
import { API_VERSION } from '../../src/policy/resources.js';
import type { MeshConfig } from '../../src/mesh/mesh-config.js';
import { callThroughProxy } from '../proxy-call.js';

// A /24 of 127.89 with a third octet from 10 up: failure-handling's labs use 127.89.1-3 (lab-harness.ts), no other test 127.89.10+.
const prefix = `127.89.${randomInt(10, 250)}`;
const ip = { controller: `${prefix}.1`, agent: `${prefix}.11`, frontend: `${prefix}.101`, ledger: `${prefix}.102` };
const TD = 'fc.test';
const ADMIN = `http://${ip.controller}:15000`;
const AGENT_STATUS = `http://${ip.agent}:15020/status`;
const WAIT = { timeoutMs: 60_000, intervalMs: 250 };

let dir: string;
let supervisor: ProcessSupervisor;
let app: Server;

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: 'shop' }, spec });
const resourcesDir = (): string => join(dir, 'resources');
const put = (name: string, text: string): Promise<void> => writeFile(join(resourcesDir(), name), text);

interface PolicyView {
  ok: boolean;
  stale: boolean;
  source: string;
  generation: number;
  summary: string;
  errors: { code: string; key: string; value: string; message: string }[];
  configVersion?: number;
  configPushed: boolean;
}
interface AgentStatus {
  controllerConnected: boolean;
  configVersion: number;
  workloads: { name: string }[];
}

const controllerStatus = async (): Promise<{ configVersion?: number; policy: PolicyView }> => (await httpJson<{ configVersion?: number; policy: PolicyView }>(`${ADMIN}/v1/status`)).body;
const agentStatus = async (): Promise<AgentStatus> => (await httpJson<AgentStatus>(AGENT_STATUS)).body;

async function reload(): Promise<PolicyView> {
  const credential = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
  const r = await httpJson<PolicyView>(`${ADMIN}/v1/resources/reload`, { method: 'POST', headers: { authorization: `Bearer ${credential}` }, timeoutMs: 30_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** frontend -> ledger through the agent's HTTP proxy, from frontend's own address: the HTTP status, 0 on a transport error. */
const callLedger = (): Promise<number> => callThroughProxy({ proxy: { host: ip.agent, port: 15001 }, url: 'http://ledger.shop.mesh/balance', from: ip.frontend });

async function startController(): Promise<void> {
  supervisor.start('controller', ['controller', '--config', join(dir, 'region.yaml')]);
  await eventually(async () => (await httpJson(`${ADMIN}/v1/status`)).status === 200, { ...WAIT, what: 'the controller to answer /v1/status' });
}

async function stopController(): Promise<void> {
  await supervisor.stop(['controller'], 10_000);
}

/** Until the agent is connected to the (re)started controller and holds the config version it serves. */
async function agentInSync(): Promise<{ agent: AgentStatus; controllerVersion: number | undefined }> {
  let last = '';
  return eventually(
    async () => {
      const [c, a] = [await controllerStatus(), await agentStatus()];
      last = `controller configVersion ${c.configVersion}, agent ${JSON.stringify(a)}`;
      return a.controllerConnected && c.configVersion !== undefined && a.configVersion === c.configVersion && { agent: a, controllerVersion: c.configVersion };
    },
    { ...WAIT, what: `the agent to hold the controller's config (${last})` },
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-fail-closed-'));
  supervisor = new ProcessSupervisor(join(dir, 'logs'));
  await mkdir(resourcesDir(), { recursive: true });
  await put('services.yaml', [
    doc('Service', 'ledger', { ports: [{ port: 80, targetPort: 8080, protocol: 'http' }] }),
    doc('Service', 'frontend', { ports: [{ port: 80, targetPort: 8080 }] }),
  ].join('---\n'));
  await put('workloads.yaml', [
    doc('Workload', 'frontend-1', { service: 'frontend', serviceAccount: 'frontend', node: 'n1', address: ip.frontend }),
    doc('Workload', 'ledger-1', { service: 'ledger', serviceAccount: 'ledger', node: 'n1', address: ip.ledger }),
  ].join('---\n'));
  await put('allow.yaml', doc('AuthorizationPolicy', 'ledger-readers', { selector: { services: ['ledger'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] }));
  await writeFile(join(dir, 'region.yaml'), stringify({
    region: 'fc', trustDomain: TD, dataDir: join(dir, 'data'), resources: resourcesDir(),
    listen: { agents: `${ip.controller}:15012`, peers: `${ip.controller}:15013`, admin: `${ip.controller}:15000` },
  }));
  app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(8080, ip.ledger, resolve);
  });
  await startController();
  const credential = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
  const token = await httpJson<{ token: string }>(`${ADMIN}/v1/tokens`, { method: 'POST', body: { node: 'n1' }, headers: { authorization: `Bearer ${credential}` } });
  assert.equal(token.status, 200);
  await writeFile(join(dir, 'agent.yaml'), stringify({
    node: 'n1', controller: `https://${ip.controller}:15012`, joinToken: token.body.token, dataDir: join(dir, 'agent-data'),
    listen: { inbound: `${ip.agent}:15008`, httpProxy: `${ip.agent}:15001`, metrics: `${ip.agent}:15020` },
  }));
  supervisor.start('agent', ['agent', '--config', join(dir, 'agent.yaml')]);
  await eventually(async () => (await callLedger()) === 200, { ...WAIT, what: 'frontend -> ledger to be allowed through the agent' });
});

after(async () => {
  await supervisor?.stop(undefined, 10_000);
  await new Promise((r) => (app ? app.close(r) : r(undefined)));
  if (process.env.ENTENTE_KEEP_TEST_DIR === undefined) await rm(dir, { recursive: true, force: true });
});

test('a DENY selecting "ledgr" (for ledger) is refused by the admin reload: ok false, nothing pushed, the old set in force', async () => {
  const before = await controllerStatus();
  await put('deny.yaml', doc('AuthorizationPolicy', 'no-frontend', { selector: { services: ['ledgr'] }, action: 'DENY', rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] }));
  const refused = await reload();
  assert.equal(refused.ok, false, 'the typo is an error, not a policy that never applies');
  assert.deepEqual(refused.errors.map((e) => [e.code, e.key, e.value]), [['UNKNOWN_SERVICE', 'spec.selector.services[0]', '"ledgr"']]);
  assert.match(refused.errors[0]!.message, /deny\.yaml:\d+: .*defined there: frontend, ledger/);
  assert.equal(refused.stale, true);
  assert.match(refused.summary, /older than the policy directory/);
  assert.equal(refused.generation, before.policy.generation, 'the set in force is unchanged');
  assert.equal(refused.configVersion, before.configVersion, 'nothing was pushed');
  assert.equal(await callLedger(), 200);

  // Spelt right, the same DENY applies; removed, the ALLOW applies again.
  await put('deny.yaml', doc('AuthorizationPolicy', 'no-frontend', { selector: { services: ['ledger'] }, action: 'DENY', rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] }));
  assert.equal((await reload()).ok, true);
  await eventually(async () => (await callLedger()) === 403, { ...WAIT, what: 'the corrected DENY to apply' });
  await unlink(join(resourcesDir(), 'deny.yaml'));
  assert.equal((await reload()).ok, true);
  await eventually(async () => (await callLedger()) === 200, { ...WAIT, what: 'the ALLOW to apply again' });
});

test('a controller restarted over a broken policy directory serves its last good set; its agent keeps serving; versions only grow', async () => {
  await agentInSync();
  const before = await controllerStatus();
  assert.equal(before.policy.ok, true);
  await stopController();
  await put('broken.yaml', 'apiVersion: entente.dev/v1alpha1\nkind: [Service\n');
  await startController();

  const { agent, controllerVersion } = await agentInSync();
  assert.ok(agent.workloads.length === 2, `the agent still runs its workloads: ${JSON.stringify(agent)}`);
  const cached = JSON.parse(await readFile(join(dir, 'agent-data', 'config.json'), 'utf8')) as MeshConfig;
  assert.deepEqual(cached.services.map((s) => s.name).sort(), ['frontend', 'ledger'], "the agent's cache was not overwritten with an empty set");
  assert.equal(await callLedger(), 200, 'the region keeps serving');
  assert.ok(controllerVersion! >= before.configVersion!, `config version ${controllerVersion} after the restart, ${before.configVersion} before: never lower`);

  const st = (await controllerStatus()).policy;
  assert.deepEqual([st.ok, st.stale, st.source, st.generation], [false, true, 'last-good-file', before.policy.generation]);
  assert.equal(st.errors[0]?.code, 'YAML_SYNTAX');
  assert.match(st.summary, new RegExp(`older than the policy directory: .*broken\\.yaml.*serving generation ${before.policy.generation} .*restored at start`));

  // A fix with new content: the next generation and a higher config version, also after another restart.
  await unlink(join(resourcesDir(), 'broken.yaml'));
  await put('allow-more.yaml', doc('AuthorizationPolicy', 'frontend-readers', { selector: { services: ['frontend'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/ledger`] }] }] }));
  const fixed = await reload();
  assert.deepEqual([fixed.ok, fixed.stale, fixed.source, fixed.generation], [true, false, 'directory', before.policy.generation + 1]);
  assert.ok(fixed.configVersion! > controllerVersion!, `config version ${fixed.configVersion} after new content, ${controllerVersion} before`);
  await stopController();
  await startController();
  const again = await agentInSync();
  const st2 = (await controllerStatus()).policy;
  assert.deepEqual([st2.ok, st2.generation], [true, fixed.generation], 'the same content keeps its generation across a restart');
  assert.ok(again.controllerVersion! >= fixed.configVersion!, `config version ${again.controllerVersion} after the restart, ${fixed.configVersion} before`);
  assert.equal(await callLedger(), 200);
});

test('a new controller over a broken policy directory, with no saved set, pushes no config and says so', async () => {
  const base = join(dir, 'fresh');
  await mkdir(join(base, 'resources'), { recursive: true });
  await writeFile(join(base, 'resources', 'broken.yaml'), 'kind: [Service\n');
  const config = controllerConfigSchema.parse({
    region: 'fresh', trustDomain: 'fresh.test', dataDir: join(base, 'data'), resources: join(base, 'resources'),
    listen: { agents: `${prefix}.2:0`, peers: `${prefix}.2:0`, admin: `${prefix}.2:0` },
  });
  const running = await startInProcess(config, silentLogger());
  try {
    const admin = `http://${running.addresses.admin.host}:${running.addresses.admin.port}`;
    const st = (await httpJson<{ configVersion?: number; policy: PolicyView }>(`${admin}/v1/status`)).body;
    assert.deepEqual([st.policy.ok, st.policy.source, st.policy.configPushed, st.configVersion], [false, 'none', false, undefined]);
    assert.match(st.policy.summary, /no good set was ever loaded and the policy directory has 1 error/);
  } finally {
    await running.close();
  }
});
