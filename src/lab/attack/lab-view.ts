// What an attacker on the lab's machine can learn from a lab's --workdir: the
// regions' controller addresses and admin credentials, every agent's ports and
// data dir (where node and workload keys sit, 0600, readable by root), and the
// demo workloads with their addresses. Read-only; the attacks act on it.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseSocketAddress, type SocketAddress } from '../../core/address.js';
import { EntenteError } from '../../core/errors.js';
import type { DemoAppConfig } from '../demo-app.js';
import type { StoredCredential } from '../../node/node-state.js';

export interface AgentView {
  readonly node: string;
  readonly configPath: string;
  readonly inbound: SocketAddress;
  readonly httpProxy: SocketAddress;
  readonly metrics: SocketAddress | undefined;
  readonly dataDir: string;
}

export interface WorkloadView {
  readonly name: string;
  readonly service: string;
  readonly region: string;
  readonly address: string;
  readonly app: SocketAddress;
  readonly stats: SocketAddress;
  readonly agent: AgentView;
}

export interface RegionView {
  readonly name: string;
  readonly trustDomain: string;
  readonly dir: string;
  readonly resourcesDir: string;
  readonly controllerDataDir: string;
  readonly controllerAgents: SocketAddress;
  readonly controllerAdmin: SocketAddress;
  readonly controllerPeers: SocketAddress;
  readonly gateway: SocketAddress;
  readonly gatewayConfigPath: string;
  readonly agents: readonly AgentView[];
  readonly workloads: readonly WorkloadView[];
}

export interface LabView {
  readonly workdir: string;
  readonly regions: readonly RegionView[];
}

const readYaml = (path: string): Record<string, unknown> => parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

function addr(v: unknown, what: string): SocketAddress {
  if (typeof v !== 'string') throw new EntenteError('ATTACK_LAB_VIEW', `${what} is missing from the lab's files`);
  return parseSocketAddress(v, what);
}

export function readLabView(workdir: string): LabView {
  const regions: RegionView[] = [];
  for (const name of readdirSync(workdir).sort()) {
    const dir = join(workdir, name);
    const regionFile = join(dir, 'region.yaml');
    if (!existsSync(regionFile)) continue;
    const rc = readYaml(regionFile);
    const listen = rc.listen as Record<string, unknown>;
    const agents: AgentView[] = readdirSync(dir)
      .filter((f) => /^agent-.*\.yaml$/.test(f))
      .sort()
      .map((f) => {
        const ac = readYaml(join(dir, f));
        const l = ac.listen as Record<string, unknown>;
        return {
          node: String(ac.node),
          configPath: join(dir, f),
          inbound: addr(l.inbound, `${f} listen.inbound`),
          httpProxy: addr(l.httpProxy, `${f} listen.httpProxy`),
          metrics: l.metrics ? addr(l.metrics, `${f} listen.metrics`) : undefined,
          dataDir: String(ac.dataDir),
        };
      });
    const workloads: WorkloadView[] = readdirSync(dir)
      .filter((f) => /^app-.*\.json$/.test(f))
      .sort()
      .map((f) => {
        const app = JSON.parse(readFileSync(join(dir, f), 'utf8')) as DemoAppConfig;
        const agent = agents.find((a) => a.httpProxy.host === app.proxy.host && a.httpProxy.port === app.proxy.port);
        if (!agent) throw new EntenteError('ATTACK_LAB_VIEW', `${f}: no agent of region ${name} serves proxy ${app.proxy.host}:${app.proxy.port}`);
        return { name: app.workload, service: app.service, region: app.region, address: app.sourceAddress, app: app.listen, stats: app.stats, agent };
      });
    const gatewayConfigPath = join(dir, 'gateway.yaml');
    regions.push({
      name,
      trustDomain: String(rc.trustDomain),
      dir,
      resourcesDir: String(rc.resources),
      controllerDataDir: String(rc.dataDir),
      controllerAgents: addr(listen.agents, `${name}/region.yaml listen.agents`),
      controllerAdmin: addr(listen.admin, `${name}/region.yaml listen.admin`),
      controllerPeers: addr(listen.peers, `${name}/region.yaml listen.peers`),
      gateway: addr(readYaml(gatewayConfigPath).listen, `${name}/gateway.yaml listen`),
      gatewayConfigPath,
      agents,
      workloads,
    });
  }
  if (regions.length === 0) {
    throw new EntenteError('ATTACK_LAB_VIEW', `${workdir} holds no lab region (no */region.yaml)`, { hint: 'start the lab with --workdir DIR and point the attacks at DIR' });
  }
  return { workdir, regions };
}

export function findWorkload(view: LabView, service: string): WorkloadView | undefined {
  for (const r of view.regions) for (const w of r.workloads) if (w.service === service) return w;
  return undefined;
}

export function regionOf(view: LabView, w: WorkloadView): RegionView {
  return view.regions.find((r) => r.name === w.region)!;
}

/** The stored key and SVID of a workload, as its agent keeps them on disk. */
export function workloadCredential(w: WorkloadView, namespace = 'shop'): StoredCredential {
  return JSON.parse(readFileSync(join(w.agent.dataDir, 'workloads', `${namespace}__${w.name}.json`), 'utf8')) as StoredCredential;
}

export function nodeCredential(a: AgentView): StoredCredential {
  return JSON.parse(readFileSync(join(a.dataDir, 'node-credential.json'), 'utf8')) as StoredCredential;
}

export function adminCredential(r: RegionView): string {
  return readFileSync(join(r.controllerDataDir, 'admin.token'), 'utf8').trim();
}
