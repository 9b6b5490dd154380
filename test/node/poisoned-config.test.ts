// A controller that pushes a bad config (a node address that does not parse,
// a route to the controller itself) to a real agent and a real gateway, over
// real mTLS: the config is refused, counted, not written to disk, and the last
// good one stays in force. A cache that is corrupt or invalid at start is
// skipped, and the node starts as if none was cached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { silentLogger } from '../../src/core/log.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { ServingIdentity } from '../../src/controller/serving-identity.js';
import { toWireBundle } from '../../src/mesh/wire-bundle.js';
import type { MeshConfig } from '../../src/mesh/mesh-config.js';
import { NodeState } from '../../src/node/node-state.js';
import { startAgent } from '../../src/agent/agent.js';
import { agentConfigSchema } from '../../src/agent/agent-config.js';
import { startGatewayNode } from '../../src/gateway/gateway-node.js';
import { gatewayConfigSchema } from '../../src/gateway/gateway-config.js';

const td = parseTrustDomain('eu.poison.test');
// 127.84.x: this helper's own range; one /24 per run so concurrent runs do not collide.
const net = `127.84.${randomInt(10, 250)}`;
const controllerIp = `${net}.1`;
const agentIp = `${net}.11`;
const gatewayIp = `${net}.2`;

let dir: string;
let ca: LocalCa;
let controller: Server;
let controllerUrl: string;
/** Open config streams; `push` writes a line to each. */
const streams = new Set<ServerResponse>();
/** SNI names of TLS connections the fake controller saw (a relayed one would show here). */
const seenSni: string[] = [];
let current: MeshConfig;

function config(version: number, nodes: Record<string, string>): MeshConfig {
  return {
    version,
    region: 'eu',
    trustDomain: td,
    bundles: { [td]: toWireBundle(ca.bundle()) },
    // One workload per node: a node address is parsed when a route to its workload is built.
    services: [{ namespace: 'shop', name: 'web', ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], export: false }],
    workloads: ['a', 'b'].map((n) => ({ name: `web-${n}`, namespace: 'shop', service: 'web', serviceAccount: 'web', node: `node-${n}`, address: `${net}.${n === 'a' ? 101 : 102}` })),
    nodes,
    remoteRegions: [],
    authorizationPolicies: [],
    policyDigest: `digest-${version}`,
  };
}

function push(c: MeshConfig): void {
  current = c;
  for (const s of streams) s.write(`${JSON.stringify(c)}\n`);
}

async function enrolledState(dataDir: string, node: string, kind: 'agent' | 'gateway'): Promise<NodeState> {
  const state = new NodeState(dataDir);
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.fromParts(td, ['node', node]), keys.publicKey, 3_600_000);
  state.saveEnrollment({ node, kind, region: 'eu', trustDomain: td, caPem: ca.caCertPem });
  state.saveNodeCredential({ spiffeId: svid.spiffeId.toString(), keyPem: await privateKeyToPem(keys.privateKey), chainPem: svid.chainPem, notBefore: new Date().toISOString(), notAfter: svid.notAfter.toISOString() });
  state.saveOwnBundle(toWireBundle(ca.bundle()));
  return state;
}

const metricValue = (text: string, name: string, reason: string): number => {
  const m = new RegExp(`^${name}\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};
const cachedVersion = async (dataDir: string): Promise<number> => (JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')) as MeshConfig).version;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-poison-'));
  ca = await LocalCa.loadOrCreate(join(dir, 'ca'), td);
  const serving = new ServingIdentity(ca, 3_600_000);
  const m = await serving.start();
  serving.stop();
  current = config(5, { 'node-a': `${agentIp}:15008` });
  controller = createServer({ key: m.key, cert: m.cert, ca: [ca.caCertPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (req, res) => {
    if (req.url?.startsWith('/v1/config/stream')) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify(current)}\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (req.url === '/v1/svids') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"svids":[]}');
      return;
    }
    res.writeHead(404).end('{}');
  });
  controller.on('secureConnection', (s: TLSSocket) => {
    if (typeof s.servername === 'string') seenSni.push(s.servername);
  });
  // A client certificate that is not ours fails the handshake; a relayed ClientHello is still seen above.
  controller.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => controller.listen(0, controllerIp, r));
  controllerUrl = `https://${controllerIp}:${(controller.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of streams) s.destroy();
  controller?.closeAllConnections();
  await new Promise<void>((r) => (controller ? controller.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

describe('agent', () => {
  let dataDir: string;
  let agent: { close(): Promise<void> } | undefined;
  const agentConfig = () =>
    agentConfigSchema.parse({ node: 'node-a', controller: controllerUrl, dataDir, listen: { inbound: `${agentIp}:15008`, metrics: `${agentIp}:15020` } });
  const status = async () => (await httpJson<{ configVersion: number; controllerConnected: boolean }>(`http://${agentIp}:15020/status`)).body;
  const metrics = async () => (await fetch(`http://${agentIp}:15020/metrics`)).text();
  after(async () => {
    await agent?.close();
  });

  test('a config with a bad node address is refused, counted, not persisted; the last good stays', async () => {
    dataDir = join(dir, 'agent');
    await enrolledState(dataDir, 'node-a', 'agent');
    current = config(5, { 'node-a': `${agentIp}:15008` });
    agent = await startAgent(agentConfig(), silentLogger());
    await eventually(async () => (await status()).configVersion === 5 && (await cachedVersion(dataDir)) === 5, { timeoutMs: 30_000, what: 'the agent to apply and cache config 5' });

    push(config(6, { 'node-a': `${agentIp}:15008`, 'node-b': 'not-an-address' }));
    await eventually(async () => metricValue(await metrics(), 'entente_agent_config_refused_total', 'invalid') >= 1, { timeoutMs: 30_000, what: 'the agent to count the refused config' });
    assert.equal((await status()).configVersion, 5, 'the last good config stays in force');
    assert.equal(await cachedVersion(dataDir), 5, 'the refused config was not written to disk');

    // A port out of range is just as bad; a good config after them is applied as usual.
    push(config(7, { 'node-a': `${agentIp}:99999` }));
    await eventually(async () => metricValue(await metrics(), 'entente_agent_config_refused_total', 'invalid') >= 2, { timeoutMs: 30_000, what: 'the second refusal' });
    push(config(8, { 'node-a': `${agentIp}:15008` }));
    await eventually(async () => (await status()).configVersion === 8 && (await cachedVersion(dataDir)) === 8, { timeoutMs: 30_000, what: 'config 8 applied and cached' });
  });

  for (const [what, content] of [
    ['corrupt (not JSON)', () => '{"version": 9, "region": '],
    ['invalid (a node address that does not parse)', () => JSON.stringify(config(9, { 'node-a': 'not-an-address' }))],
    ['invalid (wrong shape)', () => JSON.stringify({ version: 'nine', nodes: [] })],
  ] as const) {
    test(`an agent whose cached config.json is ${what} restarts and serves`, async () => {
      await agent?.close();
      agent = undefined;
      await writeFile(join(dataDir, 'config.json'), content());
      current = config(10, { 'node-a': `${agentIp}:15008` });
      agent = await startAgent(agentConfig(), silentLogger());
      await eventually(async () => {
        const st = await status();
        return st.controllerConnected && st.configVersion === 10 && (await cachedVersion(dataDir)) === 10;
      }, { timeoutMs: 30_000, what: 'the restarted agent to connect and cache a good config' });
    });
  }
});

describe('gateway', () => {
  let dataDir: string;
  let gateway: { close(): Promise<void> } | undefined;
  const gatewayConfig = () => gatewayConfigSchema.parse({ name: 'eu-gateway', controller: controllerUrl, dataDir, listen: `${gatewayIp}:15443`, metrics: `${gatewayIp}:15090` });
  const metrics = async () => (await fetch(`http://${gatewayIp}:15090/metrics`)).text();
  after(async () => {
    await gateway?.close();
  });

  /** Opens TLS through the gateway with a mesh SNI name for `node`; resolves once the connection ends. */
  const through = (node: string): Promise<void> =>
    new Promise((resolve) => {
      const s = tlsConnect({ host: gatewayIp, port: 15443, servername: `web.shop.${node}.${td}`, rejectUnauthorized: false, timeout: 5000 });
      const done = (): void => {
        s.destroy();
        resolve();
      };
      s.once('secureConnect', done);
      s.once('error', done);
      s.once('close', done);
      s.once('timeout', done);
    });

  test('a route to a controller address is refused whole and never relayed; the refused config is not persisted', async () => {
    dataDir = join(dir, 'gateway');
    await enrolledState(dataDir, 'eu-gateway', 'gateway');
    current = config(20, { 'node-a': `${agentIp}:15008` });
    gateway = await startGatewayNode(gatewayConfig(), silentLogger());
    await eventually(async () => (await cachedVersion(dataDir).catch(() => 0)) === 20, { timeoutMs: 30_000, what: 'the gateway to cache config 20' });

    const controllerAddr = controllerUrl.replace('https://', '');
    for (const [version, nodes, reason] of [
      [21, { 'node-a': `${agentIp}:15008`, evil: controllerAddr }, 'controller_address'],
      [22, { 'node-a': `${agentIp}:15008`, evil: `${gatewayIp}:15443` }, 'own_address'],
      [23, { 'node-a': 'not-an-address' }, 'invalid'],
    ] as const) {
      const before = metricValue(await metrics(), 'entente_gateway_config_refused_total', reason);
      push(config(version, nodes));
      await eventually(async () => metricValue(await metrics(), 'entente_gateway_config_refused_total', reason) > before, { timeoutMs: 30_000, what: `the gateway to refuse config ${version} (${reason})` });
      assert.equal(await cachedVersion(dataDir), 20, `config ${version} was not written to disk`);
    }
    await through('evil');
    assert.ok(!seenSni.some((n) => n.includes('.evil.')), `the gateway relayed a ClientHello to its controller: ${seenSni.join(', ')}`);

    // And it restarts from what it cached.
    await gateway.close();
    gateway = undefined;
    gateway = await startGatewayNode(gatewayConfig(), silentLogger());
    await eventually(async () => (await metrics()).includes('entente_gateway_controller_connected 1'), { timeoutMs: 30_000, what: 'the restarted gateway to connect' });
  });

  test('a gateway whose cached config.json is invalid restarts and serves', async () => {
    await gateway?.close();
    gateway = undefined;
    await writeFile(join(dataDir, 'config.json'), JSON.stringify(config(30, { 'node-a': 'not-an-address' })));
    current = config(31, { 'node-a': `${agentIp}:15008` });
    gateway = await startGatewayNode(gatewayConfig(), silentLogger());
    await eventually(async () => (await cachedVersion(dataDir)) === 31, { timeoutMs: 30_000, what: 'the restarted gateway to cache a good config' });
  });
});
