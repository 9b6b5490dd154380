// Assembles a gateway as a node of its region: it enrolls like an agent,
// follows the controller's config stream for the node -> agent address table,
// and splices ClientHello-routed TLS to the destination agent. Holds no keys
// for the traffic it carries.
import { registerProcessMetrics } from '../core/process-metrics.js';
import { registerBuildInfo } from '../core/build-info.js';
import { createServer, type Server } from 'node:http';
import { healthAnswer } from '../core/health-endpoints.js';
import { Gauge, Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';
import { isLocalAddress } from '../core/local-addresses.js';
import { NodeState } from '../node/node-state.js';
import { establishNodeIdentity } from '../node/node-identity.js';
import { ConfigIntake } from '../node/config-intake.js';
import { AgentRouteTable } from './agent-route-table.js';
import { gatewayRoutes } from './gateway-routes.js';
import { startGateway } from './gateway-server.js';
import { GatewayRouter, probeTargets, relayTargets, type RelayTarget } from './relay-routes.js';
import { LinkProber, type LinkTarget } from './link-prober.js';
import { LinkReporter } from './link-reporter.js';
import type { GatewayConfig } from './gateway-config.js';

export async function startGatewayNode(config: GatewayConfig, log: Logger): Promise<{ close(): Promise<void> }> {
  const state = new NodeState(config.dataDir);
  const identity = await establishNodeIdentity({
    node: config.name,
    kind: 'gateway',
    controllerUrls: config.controller,
    joinToken: config.joinToken,
    joinTokenFile: config.joinTokenFile,
    state,
    log,
  });
  const enrollment = state.enrollment()!;
  const registry = new Registry();
  registerBuildInfo(registry);
  registry.setDefaultLabels({ region: enrollment.region, component: 'gateway', gateway: config.name });
  registerProcessMetrics(registry);
  const connectedGauge = new Gauge({ name: 'entente_gateway_controller_connected', help: '1 while the config stream is open', registers: [registry] });

  const routes = new AgentRouteTable(enrollment.trustDomain);
  const routeContext = {
    controllers: config.controller.map((u) => {
      const url = new URL(u);
      return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
    }),
    own: [config.listen, ...(config.advertise ? [config.advertise] : [])] as SocketAddress[],
    isLocal: isLocalAddress,
  };
  // Peer regions' gateways, probed from here; the results choose relay targets and go to the controller.
  const reporter = new LinkReporter({ post: (body) => identity.client.post('/v1/gateway/links', body, 5000), log: log.child({ part: 'links' }) });
  const prober = new LinkProber({ onChange: () => reporter.changed() });
  reporter.source = () => prober.status();
  const router = new GatewayRouter(routes, (region, address) => prober.reachable(region, address));
  interface Built {
    nodes: ReadonlyMap<string, SocketAddress>;
    relays: RelayTarget[];
    probes: LinkTarget[];
  }
  // Ready once a route table is in force (from the stream or the cache).
  let routed = false;
  const apply = (b: Built): void => {
    routed = true;
    routes.replace(b.nodes);
    router.replaceRelays(b.relays);
    prober.setTargets(b.probes);
  };
  // Every config, from the stream or the cache: validate -> build route table -> swap -> persist.
  const intake = new ConfigIntake<Built>({
    component: 'gateway',
    registry,
    log,
    build: (c) => {
      const d = gatewayRoutes(c, routeContext);
      return d.kind === 'ok' ? { kind: 'ok', value: { nodes: d.value, relays: relayTargets(c, routeContext), probes: probeTargets(c, routeContext) } } : d;
    },
    swap: apply,
    persist: (c) => state.saveConfig(c),
  });
  const cached = intake.cached(state.cachedConfigText());
  if (cached) apply(cached.value);
  const gateway = await startGateway({ listen: config.listen, region: enrollment.region, routes: router, log: log.child({ part: 'splice' }), registry, caps: config.limits });
  routeContext.own.push(gateway.address); // the bound port, when the config said 0
  prober.start();
  reporter.start();
  new Gauge({
    name: 'entente_gateway_link_reachable',
    help: '1 while probes to a peer region gateway are answered, 0 when they fail (absent until the first probe)',
    labelNames: ['peer', 'address'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of prober.status()) if (l.reachable !== undefined) this.set({ peer: l.region, address: l.address }, l.reachable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'entente_gateway_link_rtt_seconds',
    help: 'Smoothed round trip of probes to a peer region gateway',
    labelNames: ['peer', 'address'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of prober.status()) if (l.rttMs !== undefined) this.set({ peer: l.region, address: l.address }, l.rttMs / 1000);
    },
  });
  new Gauge({
    name: 'entente_gateway_link_loss_ratio',
    help: 'Share of the last probes to a peer region gateway that went unanswered',
    labelNames: ['peer', 'address'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of prober.status()) this.set({ peer: l.region, address: l.address }, l.loss);
    },
  });

  // Our own close ends the stream too: that is no loss to warn about.
  let closing = false;
  const stream = identity.client.followConfig(
    formatSocketAddress(config.advertise ?? gateway.address),
    (line) => void intake.offerLine(line),
    (up, err) => {
      connectedGauge.set(up ? 1 : 0);
      if (!up && !closing) log.warn({ err }, 'config stream lost; routing with the last known table');
    },
  );

  let metrics: Server | undefined;
  if (config.metrics) {
    metrics = createServer((req, res) => {
      const health = healthAnswer(req.url, () => ({ notReady: routed ? [] : ['no config received yet (no route table)'] }));
      if (health) {
        res.writeHead(health.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(health.body));
        return;
      }
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'try /metrics, /healthz or /readyz' }));
        return;
      }
      void registry.metrics().then((m) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(m);
      });
    });
    await new Promise<void>((resolve) => metrics!.listen(config.metrics!.port, config.metrics!.host, resolve));
  }
  log.info({ listen: gateway.address, region: enrollment.region }, 'gateway serving');
  return {
    async close() {
      closing = true;
      prober.stop();
      reporter.stop();
      stream.stop();
      identity.stop();
      metrics?.closeAllConnections();
      metrics?.close();
      await gateway.close();
    },
  };
}
