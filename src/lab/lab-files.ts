// Writes the lab's configuration files: one directory per region with its
// region.yaml, resources and data dir; agent and gateway configs once their
// join tokens exist. Every file can be used to start a component by hand.
// Files that hold a join token are written 0600, atomically.
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PORTS, type LabRegion, type LabTopology } from './lab-topology.js';
import { appendYaml, labAttest, policiesYaml, regionResourcesYaml, type LabExtraResources } from './lab-resources.js';
import type { WireAttest } from '../mesh/mesh-config.js';
import type { DemoAppConfig } from './demo-app.js';

export const regionDir = (workdir: string, r: LabRegion): string => join(workdir, r.name);

export function writeControllerFiles(workdir: string, topo: LabTopology, svidTtl = '1h', attest: WireAttest = labAttest(), extra: LabExtraResources = {}): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of topo.regions) {
    const dir = regionDir(workdir, r);
    mkdirSync(join(dir, 'resources'), { recursive: true });
    writeFileSync(join(dir, 'resources', 'workloads.yaml'), appendYaml(regionResourcesYaml(topo, r.name, attest), extra.regionYaml?.[r.name]));
    writeFileSync(join(dir, 'resources', 'policies.yaml'), appendYaml(policiesYaml(topo), extra.sharedYaml));
    const config = {
      region: r.name,
      trustDomain: r.trustDomain,
      dataDir: join(dir, 'controller-data'),
      resources: join(dir, 'resources'),
      listen: {
        agents: `${r.controllerIp}:${PORTS.controllerAgents}`,
        peers: `${r.controllerIp}:${PORTS.controllerPeers}`,
        admin: `${r.controllerIp}:${PORTS.controllerAdmin}`,
      },
      svidTtl,
      federation: { pullInterval: '1s', staleAfter: '10s' },
      peers: topo.regions
        .filter((p) => p !== r)
        .map((p) => ({
          region: p.name,
          trustDomain: p.trustDomain,
          // Both federation and data traffic to a peer cross the emulated WAN.
          url: `https://${r.linkIp(p)}:${PORTS.controllerPeers}`,
          bundle: join(regionDir(workdir, p), 'controller-data', 'bundle.json'),
          gatewayAddress: `${r.linkIp(p)}:${PORTS.gateway}`,
        })),
    };
    const path = join(dir, 'region.yaml');
    writeFileSync(path, stringify(config));
    out.set(r.name, path);
  }
  return out;
}

/** Per-service local ports an agent opens (agent.yaml `outboundPorts`); the lab's apps use the HTTP proxy instead, the benchmark both. */
export interface AgentOutboundPort {
  readonly host: string;
  readonly port: number;
  readonly listen: string;
}

export function writeAgentFile(workdir: string, r: LabRegion, agent: { node: string; ip: string }, token: string, outboundPorts: readonly AgentOutboundPort[] = [], telemetry?: Readonly<Record<string, unknown>>): string {
  const path = join(regionDir(workdir, r), `agent-${agent.node}.yaml`);
  writeFileAtomicSync(
    path,
    stringify({
      node: agent.node,
      controller: `https://${r.controllerIp}:${PORTS.controllerAgents}`,
      joinToken: token,
      dataDir: join(regionDir(workdir, r), `agent-${agent.node}-data`),
      listen: {
        inbound: `${agent.ip}:${PORTS.agentInbound}`,
        httpProxy: `${agent.ip}:${PORTS.agentProxy}`,
        metrics: `${agent.ip}:${PORTS.agentMetrics}`,
      },
      ...(outboundPorts.length ? { outboundPorts: outboundPorts.map((p) => ({ ...p })) } : {}),
      ...(telemetry ? { telemetry } : {}),
    }),
    0o600,
  );
  return path;
}

export function writeGatewayFile(workdir: string, r: LabRegion, token: string): string {
  const path = join(regionDir(workdir, r), 'gateway.yaml');
  writeFileAtomicSync(
    path,
    stringify({
      name: `${r.name}-gateway`,
      controller: `https://${r.controllerIp}:${PORTS.controllerAgents}`,
      joinToken: token,
      dataDir: join(regionDir(workdir, r), 'gateway-data'),
      listen: `${r.gatewayIp}:${PORTS.gateway}`,
      metrics: `${r.gatewayIp}:${PORTS.gatewayMetrics}`,
    }),
    0o600,
  );
  return path;
}

export function demoAppConfig(topo: LabTopology, workload: LabTopology['workloads'][number], withTraffic: boolean): DemoAppConfig {
  const r = topo.regions.find((x) => x.name === workload.region)!;
  const agent = r.agents.find((a) => a.node === workload.node)!;
  return {
    workload: workload.name,
    service: workload.service,
    region: workload.region,
    listen: { host: workload.address, port: PORTS.app },
    stats: { host: workload.address, port: PORTS.appStats },
    proxy: { host: agent.ip, port: PORTS.agentProxy },
    sourceAddress: workload.address,
    rate: topo.options.rate,
    timeoutMs: 5000,
    routes: withTraffic
      ? topo.routes
          // Only the first replica drives a route (a second replica of the caller's service in the same region would count it twice).
          .filter((rt) => rt.from.region === workload.region && rt.from.service === workload.service && workload.name.endsWith('-1'))
          // Unpinned hosts (<service>.shop.mesh): the caller's agent picks the nearest healthy region, so a drill sees failover.
          .map((rt) => ({ id: rt.id, method: rt.method, url: `http://${rt.to.service}.shop.mesh${rt.path}`, expectService: rt.to.service }))
      : [],
  };
}

export function writeDemoAppFile(workdir: string, cfg: DemoAppConfig): string {
  const path = join(workdir, cfg.region, `app-${cfg.workload}.json`);
  writeFileSync(path, JSON.stringify(cfg, null, 1));
  return path;
}

/** Every component's metrics endpoint, labelled as a Prometheus scrape target. */
export function metricsTargets(topo: LabTopology): { job: string; region: string; address: string }[] {
  return topo.regions.flatMap((r) => [
    { job: 'entente-controller', region: r.name, address: `${r.controllerIp}:${PORTS.controllerAdmin}` },
    { job: 'entente-gateway', region: r.name, address: `${r.gatewayIp}:${PORTS.gatewayMetrics}` },
    ...r.agents.map((a) => ({ job: 'entente-agent', region: r.name, address: `${a.ip}:${PORTS.agentMetrics}` })),
  ]);
}

/**
 * prometheus.yml scraping every component of the lab, one job per kind:
 * `prometheus --config.file=<workdir>/prometheus.yml` shows the lab's golden
 * signals, and deploy/grafana/ draws them. No target labels: every series
 * already carries region, node and component.
 */
export function writePrometheusFile(workdir: string, topo: LabTopology, scrapeInterval = '5s'): string {
  const jobs = new Map<string, string[]>();
  for (const t of metricsTargets(topo)) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t.address]);
  const config = {
    global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
    scrape_configs: [...jobs].map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
  };
  const path = join(workdir, 'prometheus.yml');
  writeFileAtomicSync(path, `# Written by entente lab: every component's /metrics.\n${stringify(config)}`, 0o644);
  return path;
}
