// Assembles a gateway as a node of its region: it enrolls like an agent,
// follows the controller's config stream for the node -> agent address table,
// and splices ClientHello-routed TLS to the destination agent. Holds no keys
// for the traffic it carries.
import { createServer, type Server } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../core/log.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';
import { isLocalAddress } from '../core/local-addresses.js';
import { NodeState } from '../node/node-state.js';
import { establishNodeIdentity } from '../node/node-identity.js';
import { ConfigIntake } from '../node/config-intake.js';
import { AgentRouteTable } from './agent-route-table.js';
import { gatewayRoutes } from './gateway-routes.js';
import { startGateway } from './gateway-server.js';
import type { GatewayConfig } from './gateway-config.js';

export async function startGatewayNode(config: GatewayConfig, log: Logger): Promise<{ close(): Promise<void> }> {
  const state = new NodeState(config.dataDir);
  const identity = await establishNodeIdentity({
    node: config.name,
    kind: 'gateway',
    controllerUrl: config.controller,
    joinToken: config.joinToken,
    joinTokenFile: config.joinTokenFile,
    state,
    log,
  });
  const enrollment = state.enrollment()!;
  const registry = new Registry();
  registry.setDefaultLabels({ region: enrollment.region, component: 'gateway', gateway: config.name });
  collectDefaultMetrics({ register: registry });
  const connectedGauge = new Gauge({ name: 'entente_gateway_controller_connected', help: '1 while the config stream is open', registers: [registry] });

  const routes = new AgentRouteTable(enrollment.trustDomain);
  const controllerUrl = new URL(config.controller);
  const routeContext = {
    controller: { host: controllerUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(controllerUrl.port || 443) },
    own: [config.listen, ...(config.advertise ? [config.advertise] : [])] as SocketAddress[],
    isLocal: isLocalAddress,
  };
  // Every config, from the stream or the cache: validate -> build route table -> swap -> persist.
  const intake = new ConfigIntake<ReadonlyMap<string, SocketAddress>>({
    component: 'gateway',
    registry,
    log,
    build: (c) => gatewayRoutes(c, routeContext),
    swap: (nodes) => routes.replace(nodes),
    persist: (c) => state.saveConfig(c),
  });
  const cached = intake.cached(state.cachedConfigText());
  if (cached) routes.replace(cached.value);
  const gateway = await startGateway({ listen: config.listen, routes, log: log.child({ part: 'splice' }), registry, caps: config.limits });
  routeContext.own.push(gateway.address); // the bound port, when the config said 0

  const stream = identity.client.followConfig(
    formatSocketAddress(config.advertise ?? gateway.address),
    (line) => void intake.offerLine(line),
    (up, err) => {
      connectedGauge.set(up ? 1 : 0);
      if (!up) log.warn({ err }, 'config stream lost; routing with the last known table');
    },
  );

  let metrics: Server | undefined;
  if (config.metrics) {
    metrics = createServer((req, res) => {
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
      stream.stop();
      identity.stop();
      metrics?.closeAllConnections();
      metrics?.close();
      await gateway.close();
    },
  };
}
