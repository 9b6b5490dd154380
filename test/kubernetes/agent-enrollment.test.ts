// Agents of a DaemonSet enroll with their projected service-account token,
// with real processes: a controller reading the cluster from the API double
// (over HTTPS), which also answers its TokenReviews, and agents given only
// kubernetesTokenFile and controllerCaFile, their node and address on the
// command line as the DaemonSet gives them. The agent of n1 enrolls (after
// the API server could not review for a while, with the token the kubelet
// rotated meanwhile) and serves a call; it enrolls again after losing its
// dataDir, one record kept. A token of another node's pod is refused and
// counted; an agent given the wrong CA file never sends its token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { ProcessSupervisor, type Supervised } from '../../src/lab/process-supervisor.js';
import type { KubeApiDouble } from '../../src/kubernetes/api-double.js';
import { endpointSlice, kubePod, startApiFixture, type ApiFixture, PATHS, seedShop } from './api-fixture.js';
import { callThroughProxy } from '../proxy-call.js';

const run = promisify(execFile);

// Third octet 243 of 127.231-234: reserved for this test.
const prefix = `127.${231 + randomInt(0, 4)}.243`;
const base = randomInt(0, 20) * 10;
const ip = { controller: `${prefix}.${base + 1}`, agent: `${prefix}.${base + 2}`, frontend: `${prefix}.${base + 3}`, ledger: `${prefix}.${base + 4}`, impostor: `${prefix}.${base + 5}`, fooled: `${prefix}.${base + 6}` };
const TD = 'k8s.test';
const ADMIN = `http://${ip.controller}:15000`;
const WAIT = { timeoutMs: 60_000, intervalMs: 250 };
const P = PATHS;
const AGENT_SA = 'system:serviceaccount:entente-system:entente-agent';
const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';

/** A projected token's shape (the double only looks it up). */
const jwt = (name: string): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(name).toString('base64url')}.c2ln`;
const tokens = { n1: jwt('n1-first'), n1Rotated: jwt('n1-rotated'), n2: jwt('n2') };

let dir: string;
let supervisor: ProcessSupervisor;
let app: Server;
let api: KubeApiDouble;
let fixture: ApiFixture;

const callLedger = (): Promise<number> => callThroughProxy({ proxy: { host: ip.agent, port: 15001 }, url: 'http://ledger.shop.mesh/balance', from: ip.frontend });

/** The controller's event counters, by event. */
async function events(): Promise<Map<string, number>> {
  const text = await (await fetch(`${ADMIN}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^entente_controller_events_total\{[^}]*event="([^"]+)"[^}]*\} (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** agent.yaml as the DaemonSet's ConfigMap has it: no node, no advertise, no join token. */
async function agentFiles(name: string, host: string, token: string, caFile: string): Promise<{ config: string; tokenFile: string; dataDir: string }> {
  const tokenFile = join(dir, `${name}.token`);
  await writeFile(tokenFile, `${token}\n`);
  const config = join(dir, `${name}.yaml`);
  const dataDir = join(dir, `${name}-data`);
  await writeFile(config, stringify({
    controller: `https://${ip.controller}:15012`, kubernetesTokenFile: tokenFile, controllerCaFile: caFile, dataDir,
    listen: { inbound: `${host}:15008`, httpProxy: `${host}:15001`, metrics: `${host}:15020` },
  }));
  return { config, tokenFile, dataDir };
}

const startAgent = (name: string, config: string, node: string, host: string): Supervised => supervisor.start(name, ['agent', '--config', config, '--node', node, '--advertise-ip', host]);

async function exitOf(p: Supervised, what: string): Promise<{ code: number | null; log: string }> {
  await eventually(() => p.exited !== undefined, { ...WAIT, what });
  return { code: p.exited!.code, log: await readFile(p.logPath, 'utf8') };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-k8s-enroll-'));
  supervisor = new ProcessSupervisor(join(dir, 'logs'));
  await mkdir(join(dir, 'resources'), { recursive: true });
  fixture = await startApiFixture({ bookmarkMs: 1000 });
  api = fixture.api;
  seedShop(api);
  api.put(P.accounts, { metadata: { name: 'entente-agent', namespace: 'entente-system' } });
  api.put(P.pods, kubePod('frontend-1', 'n1', 'frontend'));
  api.put(P.pods, kubePod('ledger-1', 'n1', 'ledger'));
  // The DaemonSet's pods: n1's runs on the host network, so its IP is its node's.
  api.put(P.pods, { metadata: { name: 'entente-agent-7xk2p', namespace: 'entente-system', uid: 'uid-n1' }, spec: { nodeName: 'n1', serviceAccountName: 'entente-agent', hostNetwork: true }, status: { podIP: ip.agent, podIPs: [{ ip: ip.agent }] } });
  api.put(P.pods, { metadata: { name: 'entente-agent-q9m4t', namespace: 'entente-system', uid: 'uid-n2' }, spec: { nodeName: 'n2', serviceAccountName: 'entente-agent', hostNetwork: true }, status: { podIP: '10.9.9.2', podIPs: [{ ip: '10.9.9.2' }] } });
  api.put(P.slices, endpointSlice('frontend-x1', 'frontend', [{ pod: 'frontend-1', ip: ip.frontend }]));
  api.put(P.slices, endpointSlice('ledger-x1', 'ledger', [{ pod: 'ledger-1', ip: ip.ledger }]));
  api.put(P.policies, { metadata: { name: 'ledger-readers', namespace: 'shop' }, spec: { selector: { services: ['ledger'] }, rules: [{ from: [{ principals: [`spiffe://${TD}/ns/shop/sa/frontend`] }] }] } });
  // What the API server says of each token: the first n1 token has expired by the time it is reviewed (the kubelet rotated it).
  const bound = (pod: string, uid: string, node: string) => ({ username: AGENT_SA, audiences: ['entente'], pod, podUid: uid, node });
  api.tokens.set(tokens.n1Rotated, bound('entente-agent-7xk2p', 'uid-n1', 'n1'));
  api.tokens.set(tokens.n2, bound('entente-agent-q9m4t', 'uid-n2', 'n2'));
  await writeFile(join(dir, 'kubeconfig'), fixture.kubeconfig());
  await writeFile(join(dir, 'region.yaml'), stringify({
    region: 'k8s', trustDomain: TD, dataDir: join(dir, 'data'), resources: join(dir, 'resources'),
    kubernetes: { kubeconfig: join(dir, 'kubeconfig'), agentAttestation: { serviceAccounts: ['entente-system/entente-agent'] } },
    listen: { agents: `${ip.controller}:15012`, peers: `${ip.controller}:15013`, admin: `${ip.controller}:15000` },
  }));
  app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(8080, ip.ledger, resolve);
  });
  supervisor.start('controller', ['controller', '--config', join(dir, 'region.yaml')]);
  // The probes the Deployment uses (deploy/kubernetes/base/controller.yaml).
  await eventually(async () => (await httpJson(`${ADMIN}/readyz`)).status === 200, { ...WAIT, what: 'the controller to answer /readyz' });
  assert.deepEqual(await httpJson(`${ADMIN}/healthz`), { status: 200, body: { status: 'ok' } });
});

after(async () => {
  await supervisor?.stop(undefined, 10_000);
  await new Promise((r) => (app ? app.close(r) : r(undefined)));
  await fixture?.close();
  if (process.env.ENTENTE_KEEP_TEST_DIR === undefined) await rm(dir, { recursive: true, force: true });
});

test('an agent with only its service-account token and the CA file enrolls, serves a call, and enrolls again after losing its dataDir', { timeout: 180_000 }, async () => {
  const caFile = join(dir, 'data', 'ca.pem');
  assert.match(await readFile(caFile, 'utf8'), /^-----BEGIN CERTIFICATE-----/, 'the controller writes its CA for controllerCaFile');
  const n1 = await agentFiles('agent', ip.agent, tokens.n1, caFile);
  // The API server cannot review at first: the agent is told to come back, and keeps trying.
  api.tokenReviewsUp = false;
  startAgent('agent', n1.config, 'n1', ip.agent);
  await eventually(async () => ((await events()).get('enroll_refused_api_unavailable') ?? 0) >= 1, { ...WAIT, what: 'a first attempt refused while TokenReview is down' });
  assert.ok(api.reviewedTokens.includes(tokens.n1));
  // Meanwhile the kubelet rotated the token (the first is no longer valid): a later attempt reads the new one.
  await writeFile(n1.tokenFile, `${tokens.n1Rotated}\n`);
  await eventually(() => api.reviewedTokens.includes(tokens.n1Rotated), { ...WAIT, what: 'an attempt with the rotated token' });
  api.tokenReviewsUp = true;
  await eventually(async () => ((await callLedger()) === 200 ? true : undefined), { ...WAIT, what: 'frontend -> ledger through the agent that enrolled by token' });
  const record = async () => (await httpJson<{ nodes: { node: string; kind: string; addresses?: string[]; advertise?: string }[] }>(`${ADMIN}/v1/status`)).body.nodes;
  // Bound to its pod's IPs as the API server knows them, as if registered with a join token.
  assert.deepEqual((await record()).map((n) => [n.node, n.kind, n.addresses, n.advertise]), [['n1', 'agent', [ip.agent], `${ip.agent}:15008`]]);
  assert.equal((await events()).get('enrolled'), 1);

  // A DaemonSet pod that lost its dataDir enrolls again with its token: one record stays.
  await supervisor.stop(['agent'], 10_000);
  await rm(n1.dataDir, { recursive: true, force: true });
  startAgent('agent', n1.config, 'n1', ip.agent);
  await eventually(async () => ((await events()).get('enrolled') === 2 ? true : undefined), { ...WAIT, what: 'the agent enrolled again' });
  await eventually(async () => ((await callLedger()) === 200 ? true : undefined), { ...WAIT, what: 'the call served again after the new enrollment' });
  assert.deepEqual((await record()).map((n) => n.node), ['n1']);
});

test("a token of another node's pod is refused and counted; the agent stops", { timeout: 120_000 }, async () => {
  const impostor = await agentFiles('impostor', ip.impostor, tokens.n2, join(dir, 'data', 'ca.pem'));
  const before = (await events()).get('enroll_refused_node_mismatch') ?? 0;
  const out = await exitOf(startAgent('impostor', impostor.config, 'n1', ip.impostor), 'the impostor agent to exit');
  assert.notEqual(out.code, 0);
  assert.match(out.log, /NODE_MISMATCH/);
  assert.match(out.log, /the token is of node n2, not n1/);
  assert.equal((await events()).get('enroll_refused_node_mismatch'), before + 1);
  assert.deepEqual((await httpJson<{ nodes: { node: string }[] }>(`${ADMIN}/v1/status`)).body.nodes.map((n) => n.node), ['n1'], 'nothing enrolled as n1 or n2');
});

test('an agent given the wrong CA file refuses the controller and never sends its token', { timeout: 120_000 }, async () => {
  // A CA that claims the region's trust domain: what an impostor controller would present.
  const wrongCa = join(dir, 'wrong-ca.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'wrong-ca.key'), '-out', wrongCa, '-days', '1', '-subj', '/CN=impostor',
    '-addext', `subjectAltName=URI:spiffe://${TD}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const fooled = await agentFiles('fooled', ip.fooled, tokens.n1Rotated, wrongCa);
  const reviewsBefore = api.requests.filter((r) => r.path === TOKEN_REVIEWS).length;
  const eventsBefore = await events();
  const out = await exitOf(startAgent('fooled', fooled.config, 'n1', ip.fooled), 'the agent with the wrong CA to exit');
  assert.notEqual(out.code, 0);
  assert.match(out.log, /CONTROLLER_CA_MISMATCH/);
  assert.match(out.log, /the token was not sent/);
  assert.equal(api.requests.filter((r) => r.path === TOKEN_REVIEWS).length, reviewsBefore, 'no TokenReview: the controller never saw the token');
  const eventsAfter = await events();
  for (const [event, n] of eventsAfter) if (event.startsWith('enroll')) assert.equal(n, eventsBefore.get(event), `${event} unchanged`);
  assert.equal(eventsAfter.get('enrolled'), eventsBefore.get('enrolled'));
});
