// The system under test: one region's real `entente controller` and two real
// `entente agent` processes, started as the lab starts them (lab-files,
// process-supervisor), so the CPU and memory measured are the product's.
// Agent A hosts the load generator's workload and opens a per-service port
// for bench-tcp (L4) and its HTTP proxy (L7); agent B hosts bench-tcp and
// bench-http, whose workload addresses are where nginx listens.
import { AGENT_NODE_FLAGS } from '../../src/agent/agent-node-flags.js';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { SocketAddress } from '../../src/core/address.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { PORTS, type LabRegion } from '../../src/lab/lab-topology.js';
import { regionDir, writeAgentFile } from '../../src/lab/lab-files.js';
import { ProcessSupervisor, type Supervised } from '../../src/lab/process-supervisor.js';
import { waitHttpOk } from './net-util.js';

/** Our own loopback /24 (no other benchmark or test uses 127.66). */
const NET = '127.66.1';
const NAMESPACE = 'bench';

const region: LabRegion = {
  name: 'bench',
  index: 0,
  trustDomain: 'bench.entente.lab',
  controllerIp: `${NET}.1`,
  gatewayIp: `${NET}.2`,
  agents: [
    { node: 'bench-node-a', ip: `${NET}.11` },
    { node: 'bench-node-b', ip: `${NET}.12` },
  ],
  linkIp: () => `${NET}.200`,
};
const [nodeA, nodeB] = region.agents as [LabRegion['agents'][number], LabRegion['agents'][number]];

/**
 * wrk cannot bind a source address, and on Linux a connection from this host
 * to any 127.x.y.z comes from 127.0.0.1 unless bound: so that is the client
 * workload's address (the agent identifies callers by source address).
 */
export const CLIENT_ADDRESS = '127.0.0.1';

/** Where nginx must listen: bench-tcp's and bench-http's workload addresses, at their target port. */
export const MESH_UPSTREAMS = {
  tcp: { host: `${NET}.101`, port: PORTS.app },
  http: { host: `${NET}.102`, port: PORTS.app },
} as const satisfies Record<string, SocketAddress>;

const L4_LISTEN: SocketAddress = { host: nodeA.ip, port: 18080 };
const L7_HOST = `bench-http.${NAMESPACE}.mesh`;

export interface BenchMesh {
  /** Agent A's per-service port for bench-tcp.bench.mesh:80. */
  readonly l4Entry: SocketAddress;
  /** Agent A's HTTP proxy, for absolute-URI requests to l7Url. */
  readonly httpProxy: SocketAddress;
  readonly l7Url: string;
  readonly agentPids: { readonly a: number; readonly b: number };
  readonly logDir: string;
  unexpectedExits(): string[];
  close(): Promise<void>;
}

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NAMESPACE }, spec });

export function benchResourcesYaml(): string {
  const svc = (name: string, protocol: 'tcp' | 'http'): string => doc('Service', name, { ports: [{ port: 80, targetPort: PORTS.app, protocol }] });
  const wl = (service: string, node: string, address: string): string => doc('Workload', `${service}-1`, { service, serviceAccount: service, node, address });
  return [
    svc('bench-client', 'tcp'),
    svc('bench-tcp', 'tcp'),
    svc('bench-http', 'http'),
    // No attest selectors: wrk is not a process a Workload would name, and attestation has its own scenario.
    wl('bench-client', nodeA.node, CLIENT_ADDRESS),
    wl('bench-tcp', nodeB.node, MESH_UPSTREAMS.tcp.host),
    wl('bench-http', nodeB.node, MESH_UPSTREAMS.http.host),
    doc('AuthorizationPolicy', 'bench-client-calls', {
      selector: { services: ['bench-tcp', 'bench-http'] },
      action: 'ALLOW',
      rules: [{ from: [{ principals: [`spiffe://${region.trustDomain}/ns/${NAMESPACE}/sa/bench-client`] }] }],
    }),
  ].join('---\n');
}

async function writeControllerConfig(workdir: string): Promise<string> {
  const dir = regionDir(workdir, region);
  await mkdir(join(dir, 'resources'), { recursive: true });
  await writeFile(join(dir, 'resources', 'bench.yaml'), benchResourcesYaml());
  const path = join(dir, 'region.yaml');
  await writeFile(
    path,
    stringify({
      region: region.name,
      trustDomain: region.trustDomain,
      dataDir: join(dir, 'controller-data'),
      resources: join(dir, 'resources'),
      listen: {
        agents: `${region.controllerIp}:${PORTS.controllerAgents}`,
        peers: `${region.controllerIp}:${PORTS.controllerPeers}`,
        admin: `${region.controllerIp}:${PORTS.controllerAdmin}`,
      },
      svidTtl: '1h',
    }),
  );
  return path;
}

function logTails(dir: string, lines = 8): string {
  try {
    return readdirSync(dir)
      .map((f) => `--- ${f} (last ${lines} lines)\n${readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  } catch {
    return '(no logs)';
  }
}

const pidOf = (p: Supervised): number => {
  if (p.child.pid === undefined) throw new Error(`${p.name} did not start (see ${p.logPath})`);
  return p.child.pid;
};

/** Starts controller and agents and waits until both paths answer 200; on failure everything started is stopped. */
export async function startBenchMesh(workdir: string): Promise<BenchMesh> {
  const exits: string[] = [];
  const logDir = join(workdir, 'logs');
  const supervisor = new ProcessSupervisor(logDir, (p) => exits.push(`${p.name} exited unexpectedly (${p.exited?.signal ?? `code ${p.exited?.code}`}); see ${p.logPath}`));
  const admin = `http://${region.controllerIp}:${PORTS.controllerAdmin}`;
  // Each wait ends at once when a process it depends on has exited.
  const until = async (probe: () => Promise<boolean>, what: string): Promise<void> => {
    const r = await eventually(async () => exits[0] ?? (await probe()), { what });
    if (typeof r === 'string') throw new Error(r);
  };
  try {
    supervisor.start('bench-controller', ['controller', '--config', await writeControllerConfig(workdir)]);
    await until(async () => (await httpJson(`${admin}/v1/status`, { timeoutMs: 5000 })).status === 200, 'the bench controller');
    const credential = readFileSync(join(regionDir(workdir, region), 'controller-data', 'admin.token'), 'utf8').trim();
    const token = async (node: string): Promise<string> => {
      const res = await httpJson<{ token: string }>(`${admin}/v1/tokens`, { method: 'POST', body: { node, kind: 'agent' }, headers: { authorization: `Bearer ${credential}` } });
      if (res.status !== 200) throw new Error(`the bench controller refused a token for ${node} (${res.status})`);
      return res.body.token;
    };
    const outbound = [{ host: `bench-tcp.${NAMESPACE}.mesh`, port: 80, listen: `${L4_LISTEN.host}:${L4_LISTEN.port}` }];
    // Started as operators are told to start agents (docs/operations.md "Running an agent").
    const a = supervisor.start(`${nodeA.node}-agent`, ['agent', '--config', writeAgentFile(workdir, region, nodeA, await token(nodeA.node), outbound)], AGENT_NODE_FLAGS);
    const b = supervisor.start(`${nodeB.node}-agent`, ['agent', '--config', writeAgentFile(workdir, region, nodeB, await token(nodeB.node))], AGENT_NODE_FLAGS);
    await until(async () => {
      const st = (await httpJson<{ nodes: { connected: boolean }[] }>(`${admin}/v1/status`)).body;
      return st.nodes.length === 2 && st.nodes.every((n) => n.connected);
    }, 'both bench agents to connect to the controller');
    await until(async () => {
      for (const n of region.agents) {
        const st = (await httpJson<{ workloads: { svidNotAfter?: string }[] }>(`http://${n.ip}:${PORTS.agentMetrics}/status`)).body;
        if (st.workloads.length === 0 || !st.workloads.every((w) => w.svidNotAfter)) return false;
      }
      return true;
    }, 'every bench workload SVID');
    const httpProxy = { host: nodeA.ip, port: PORTS.agentProxy };
    const l7Url = `http://${L7_HOST}/`;
    await waitHttpOk(L4_LISTEN, 'the L4 path (agent A outbound port → agent B → nginx)', { gone: () => exits[0] });
    await waitHttpOk(httpProxy, 'the L7 path (agent A HTTP proxy → agent B → nginx)', { path: l7Url, headers: { host: L7_HOST }, gone: () => exits[0] });
    return {
      l4Entry: L4_LISTEN,
      httpProxy,
      l7Url,
      agentPids: { a: pidOf(a), b: pidOf(b) },
      logDir,
      unexpectedExits: () => [...exits],
      close: () => supervisor.stop(),
    };
  } catch (err) {
    await supervisor.stop();
    // The work directory is removed on the way out: the logs' last lines go into the error.
    throw new Error(`the bench mesh did not come up: ${err instanceof Error ? err.message : String(err)}\n${logTails(logDir)}`, { cause: err });
  }
}
