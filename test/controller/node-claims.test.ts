// What an enrolled node may claim, against a real controller over real TLS:
// the address it advertises (parsed, bound to its registered addresses or its
// own connection's source, never a controller listener), the kind its token
// was made for, and well-formed request bodies. Also: gauges set at scrape,
// and a registry file with bad records does not stop the controller.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { controllerConfigSchema } from '../../src/controller/controller-config.js';
import { startController, readAdminCredential, type RunningController } from '../../src/controller/controller.js';
import { checkConfig } from '../../src/core/config-file.js';
import { silentLogger } from '../../src/core/log.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { eventually } from '../../src/core/eventually.js';
import { enroll, type EnrollResult } from '../../src/node/controller-client.js';
import { openConfigStream } from './config-stream-client.js';

// 127.84.x: this helper's own range.
const net = `127.84.${randomInt(10, 250)}`;
const controllerIp = `${net}.1`;
let dir: string;
let controller: RunningController;

async function makeController(name: string, host: string, prepare?: (dataDir: string) => Promise<void>): Promise<RunningController> {
  const base = join(dir, name);
  await mkdir(join(base, 'resources'), { recursive: true });
  await mkdir(join(base, 'data'), { recursive: true });
  await prepare?.(join(base, 'data'));
  const config = checkConfig(
    controllerConfigSchema,
    {
      region: 'eu',
      trustDomain: 'eu.claims.test',
      dataDir: join(base, 'data'),
      resources: join(base, 'resources'),
      listen: { agents: `${host}:0`, peers: `${host}:0`, admin: `${host}:0` },
      peers: [{ region: 'far', trustDomain: 'far.test', url: 'https://127.0.0.1:9', bundle: join(base, 'missing-bundle.json') }],
    },
    'test config',
  );
  return startController(config, silentLogger());
}

const adminUrl = (c: RunningController): string => `http://${c.addresses.admin.host}:${c.addresses.admin.port}`;
const agentsUrl = (c: RunningController): string => `https://${c.addresses.agents.host}:${c.addresses.agents.port}`;

async function token(c: RunningController, node: string, extra: Record<string, unknown> = {}): Promise<{ status: number; body: { token: string; error?: { code: string; message: string } } }> {
  return httpJson<{ token: string; error?: { code: string; message: string } }>(`${adminUrl(c)}/v1/tokens`, {
    method: 'POST',
    body: { node, ...extra },
    headers: { authorization: `Bearer ${readAdminCredential(c.config.dataDir)}` },
  });
}

const openStream = (c: RunningController, node: EnrollResult, advertise: string, localAddress: string, keepOpen = false) =>
  openConfigStream(c.addresses.agents, node, advertise, localAddress, keepOpen);

type Status = { nodes: { node: string; kind: string; advertise?: string; connected: boolean }[] };
const status = async (c: RunningController): Promise<Status> => (await httpJson<Status>(`${adminUrl(c)}/v1/status`)).body;
const metrics = async (c: RunningController): Promise<string> => (await fetch(`${adminUrl(c)}/metrics`)).text();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-claims-'));
  controller = await makeController('eu', controllerIp);
});
after(async () => {
  await controller?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('advertise', () => {
  test('a node advertises only its own address: bad, foreign and controller addresses answer 400, counted; the registry keeps the last good', async () => {
    const nodeIp = `${net}.11`;
    const otherIp = `${net}.12`;
    const rogue = await enroll(agentsUrl(controller), (await token(controller, 'rogue')).body.token, 'rogue', 'agent');

    // Its own address (the source of its connection) is accepted.
    const ok = await openStream(controller, rogue, `${nodeIp}:15008`, nodeIp);
    assert.equal(ok.status, 200);
    await eventually(async () => (await status(controller)).nodes.find((n) => n.node === 'rogue')?.advertise === `${nodeIp}:15008`, { timeoutMs: 30_000, what: 'the good advertise in the registry' });

    const { port: agentsPort } = controller.addresses.agents;
    const cases: [string, string, string, RegExp][] = [
      ['not-an-address', nodeIp, 'malformed', /advertise: "not-an-address".*host:port/],
      [`${nodeIp}:99999`, nodeIp, 'malformed', /advertise: "127[^"]*:99999"/],
      [`${nodeIp}:0`, nodeIp, 'bad_port', /port 1-65535/],
      ['localhost:15008', nodeIp, 'not_ip', /literal IP/],
      // Another node's address, from the rogue's own host.
      [`${otherIp}:15008`, nodeIp, 'not_own', /not an address of node rogue/],
      // The controller's agent API, from the controller's own host.
      [`${controllerIp}:${agentsPort}`, controllerIp, 'controller_address', /controller/],
      [`${controllerIp}:${controller.addresses.admin.port}`, controllerIp, 'controller_address', /controller/],
    ];
    for (const [advertise, from, reason, message] of cases) {
      const r = await openStream(controller, rogue, advertise, from);
      assert.equal(r.status, 400, `${advertise} from ${from}: ${JSON.stringify(r.body)}`);
      const err = r.body.error as { code: string; message: string };
      assert.equal(err.code, 'BAD_ADVERTISE', advertise);
      assert.match(err.message, message, advertise);
      assert.match(await metrics(controller), new RegExp(`entente_controller_advertise_refused_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`), `${advertise}: counted as ${reason}`);
    }
    const rec = (await status(controller)).nodes.find((n) => n.node === 'rogue')!;
    assert.equal(rec.advertise, `${nodeIp}:15008`, 'the registry keeps the last good value');
  });

  test('addresses registered with the token are the only ones the node may advertise', async () => {
    const bad = await token(controller, 'edge-9', { addresses: ['not-an-ip'] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!.message, /addresses.*not-an-ip.*IP/);

    const t = await token(controller, 'edge-9', { addresses: ['10.0.0.5', '2001:db8::5'] });
    assert.equal(t.status, 200);
    const node = await enroll(agentsUrl(controller), t.body.token, 'edge-9', 'agent');
    const from = `${net}.13`;
    assert.equal((await openStream(controller, node, '10.0.0.5:15008', from)).status, 200);
    assert.equal((await openStream(controller, node, '[2001:db8:0::5]:15008', from)).status, 200);
    // Its connection's source is not enough once addresses are registered.
    const r = await openStream(controller, node, `${from}:15008`, from);
    assert.equal(r.status, 400);
    assert.match((r.body.error as { message: string }).message, /registered for node edge-9: 10\.0\.0\.5, 2001:db8::5/);
  });
});

describe('enrollment and request bodies', () => {
  test('null and other non-object JSON bodies answer 400, not 500', async () => {
    for (const body of ['null', '42', '"x"', '[]', 'true']) {
      const r = await new Promise<number>((resolve, reject) => {
        const req = request({ host: controllerIp, port: controller.addresses.agents.port, path: '/v1/enroll', method: 'POST', rejectUnauthorized: false, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(r, 400, `/v1/enroll with ${body}`);
    }
    const node = await enroll(agentsUrl(controller), (await token(controller, 'edge-7')).body.token, 'edge-7', 'agent');
    for (const body of ['null', '42', '[]']) {
      const r = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: controllerIp, port: controller.addresses.agents.port, path: '/v1/svids', method: 'POST', key: node.credential.keyPem, cert: node.credential.chainPem, ca: [node.enrollment.caPem], checkServerIdentity: () => undefined, agent: false },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(r, 400, `/v1/svids with ${body}`);
    }
  });

  test("a gateway enrolling with an agent's token (or the reverse) is refused with TOKEN_KIND_MISMATCH, counted", async () => {
    const agentToken = (await token(controller, 'edge-5', { kind: 'agent' })).body.token;
    await assert.rejects(enroll(agentsUrl(controller), agentToken, 'edge-5', 'gateway'), (e: Error & { code?: string }) => e.code === 'TOKEN_KIND_MISMATCH' && /made for an agent/.test(e.message));
    const gatewayToken = (await token(controller, 'gw-5', { kind: 'gateway' })).body.token;
    await assert.rejects(enroll(agentsUrl(controller), gatewayToken, 'gw-5', 'agent'), (e: Error & { code?: string }) => e.code === 'TOKEN_KIND_MISMATCH');
    assert.ok(!(await status(controller)).nodes.some((n) => n.node === 'edge-5' || n.node === 'gw-5'), 'neither was enrolled');
    assert.match(await metrics(controller), /entente_controller_events_total\{[^}]*event="enroll_refused_token_kind_mismatch"[^}]*\} 2/);
    // An unknown kind is a bad request, not a default.
    const r = await token(controller, 'edge-6', { kind: 'router' });
    assert.equal(r.status, 400);
    assert.match(r.body.error!.message, /kind: "router".*"agent" or "gateway"/);
  });
});

test('a registry file with bad records starts the controller without them; a corrupt one is set aside', async () => {
  const good = { node: 'edge-1', kind: 'agent', enrolledAt: new Date().toISOString(), advertise: '10.0.0.1:15008' };
  const c = await makeController('bad-registry', `${net}.2`, async (data) => {
    await writeFile(
      join(data, 'nodes.json'),
      JSON.stringify([good, { node: 'edge-2', kind: 'agent', enrolledAt: good.enrolledAt, advertise: 'not-an-address' }, { node: 'Bad Name', kind: 'agent', enrolledAt: good.enrolledAt }, { node: 'edge-3', kind: 'router', enrolledAt: good.enrolledAt }, null]),
    );
  });
  try {
    const nodes = (await status(c)).nodes;
    assert.deepEqual(nodes.map((n) => [n.node, n.advertise]), [['edge-1', '10.0.0.1:15008'], ['edge-2', undefined]]);
  } finally {
    await c.close();
  }
  const corrupt = await makeController('corrupt-registry', `${net}.3`, async (data) => writeFile(join(data, 'nodes.json'), '[{"node": "edge-1", '));
  try {
    assert.deepEqual((await status(corrupt)).nodes, []);
  } finally {
    await corrupt.close();
  }
});

test('gauges are set at scrape, without reading /v1/status first', async () => {
  const c = await makeController('gauges', `${net}.4`);
  try {
    const node = await enroll(agentsUrl(c), (await token(c, 'edge-1')).body.token, 'edge-1', 'agent');
    const stream = await openStream(c, node, `${net}.14:15008`, `${net}.14`, true);
    assert.equal(stream.status, 200);
    const text = await metrics(c);
    stream.close();
    assert.match(text, /entente_controller_nodes_connected\{[^}]*kind="agent"[^}]*\} 1/);
    assert.match(text, /entente_federation_peer_reachable\{[^}]*peer="far"[^}]*\} 0/);
  } finally {
    await c.close();
  }
});
