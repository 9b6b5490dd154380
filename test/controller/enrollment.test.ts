// Enrollment and SVID issuance over real sockets and TLS, against a real
// controller whose only peer region is unreachable (a region cut off from
// every other region must still enroll nodes and issue SVIDs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { controllerConfigSchema } from '../../src/controller/controller-config.js';
import { startController, readAdminCredential, type RunningController } from '../../src/controller/controller.js';
import { checkConfig } from '../../src/core/config-file.js';
import { silentLogger } from '../../src/core/log.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { ControllerClient, enroll } from '../../src/node/controller-client.js';
import { generateKeyPair } from '../../src/identity/keys.js';
import { createCsrPem } from '../../src/identity/csr.js';

let dir: string;
let controller: RunningController;
let other: RunningController;
const ip = `127.${60 + Math.floor(Math.random() * 40)}.${1 + Math.floor(Math.random() * 250)}.1`;
const otherIp = ip.replace(/\.1$/, '.2');

async function makeController(name: string, host: string, trustDomain: string): Promise<RunningController> {
  const base = join(dir, name);
  await mkdir(join(base, 'resources'), { recursive: true });
  await writeFile(
    join(base, 'resources', 'shop.yaml'),
    ['edge-1', 'edge-2']
      .map(
        (node) => `apiVersion: entente.dev/v1alpha1
kind: Workload
metadata: { name: app-${node}, namespace: shop }
spec: { service: app, serviceAccount: app, node: ${node}, address: 10.0.0.${node.endsWith('1') ? 1 : 2} }
---
`,
      )
      .join('') + `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: app, namespace: shop }
spec: { ports: [{ port: 80 }] }
`,
  );
  const config = checkConfig(
    controllerConfigSchema,
    {
      region: name,
      trustDomain,
      dataDir: join(base, 'data'),
      resources: join(base, 'resources'),
      listen: { agents: `${host}:0`, peers: `${host}:0`, admin: `${host}:0` },
      // A peer that never answers: this region is cut off from every other one.
      peers: [{ region: 'far', trustDomain: 'far.test', url: 'https://127.0.0.1:9', bundle: join(base, 'missing-bundle.json') }],
    },
    'test config',
  );
  return startController(config, silentLogger());
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-enroll-'));
  controller = await makeController('eu', ip, 'eu.test');
  other = await makeController('us', otherIp, 'us.test');
});
after(async () => {
  await controller?.close();
  await other?.close();
  await rm(dir, { recursive: true, force: true });
});

const adminUrl = (c: RunningController): string => `http://${c.addresses.admin.host}:${c.addresses.admin.port}`;
const agentsUrl = (c: RunningController): string => `https://${c.addresses.agents.host}:${c.addresses.agents.port}`;

async function token(c: RunningController, node: string): Promise<string> {
  const r = await httpJson<{ token: string }>(`${adminUrl(c)}/v1/tokens`, {
    method: 'POST',
    body: { node },
    headers: { authorization: `Bearer ${readAdminCredential(c.config.dataDir)}` },
  });
  assert.equal(r.status, 200);
  return r.body.token;
}

test('a node enrolls with its token while every peer region is unreachable; a replay is refused', async () => {
  const t = await token(controller, 'edge-1');
  const r = await enroll(agentsUrl(controller), t, 'edge-1', 'agent');
  assert.equal(r.enrollment.trustDomain, 'eu.test');
  assert.equal(new X509Certificate(r.credential.chainPem).subjectAltName, 'URI:spiffe://eu.test/node/edge-1');
  await assert.rejects(enroll(agentsUrl(controller), t, 'edge-1', 'agent'), /TOKEN_REPLAYED|already used/);
});

test('a token made by another controller is refused before it is sent (CA pin)', async () => {
  const foreign = await token(other, 'edge-2');
  await assert.rejects(enroll(agentsUrl(controller), foreign, 'edge-2', 'agent'), (err: Error & { code?: string }) => err.code === 'CONTROLLER_PIN_MISMATCH');
  // The token never reached the impostor, so it still works where it belongs.
  const ok = await enroll(agentsUrl(other), foreign, 'edge-2', 'agent');
  assert.equal(ok.enrollment.trustDomain, 'us.test');
});

test("an agent gets SVIDs for its own node's workloads only; asking for another node's is refused", async () => {
  const r = await enroll(agentsUrl(controller), await token(controller, 'edge-2'), 'edge-2', 'agent');
  const client = new ControllerClient({ urls: [agentsUrl(controller)], enrollment: r.enrollment, credential: () => r.credential, log: silentLogger() });
  const csr = async (): Promise<string> => createCsrPem(await generateKeyPair(), 'spiffe://eu.test/ns/shop/sa/app');
  const res = await client.post('/v1/svids', {
    requests: [
      { namespace: 'shop', name: 'app-edge-2', csr: await csr() },
      { namespace: 'shop', name: 'app-edge-1', csr: await csr() },
    ],
  });
  assert.equal(res.status, 200);
  const svids = res.body.svids as { name: string; chainPem?: string; error?: string }[];
  const own = svids.find((s) => s.name === 'app-edge-2')!;
  const foreign = svids.find((s) => s.name === 'app-edge-1')!;
  assert.equal(new X509Certificate(own.chainPem!).subjectAltName, 'URI:spiffe://eu.test/ns/shop/sa/app');
  assert.equal(foreign.chainPem, undefined);
  assert.match(foreign.error ?? '', /placed on node edge-1, not edge-2/);
  const metrics = await fetch(`${adminUrl(controller)}/metrics`).then((m) => m.text());
  assert.match(metrics, /entente_controller_events_total\{[^}]*event="svid_refused_other_node"[^}]*\} [1-9]/);
});
