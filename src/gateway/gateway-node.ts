// Assembles a gateway as a node of its region: it enrolls like an agent,
// follows the controller's config stream for the node -> agent address table,
// and splices ClientHello-routed TLS to the destination agent. Holds no keys
// for the traffic it carries.
import { createServer, type Server } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../core/log.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../core/address.js';
import { NodeState } from '../node/node-state.js';
import { establishNodeIdentity } from '../node/node-identity.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import { AgentRouteTable } from './agent-route-table.js';
import { startGateway } from './gateway-server.js';
import type { GatewayConfig } from './gateway-config.js';

function nodeTable(c: MeshConfig): Map<string, SocketAddress> {
  const m = new Map<string, SocketAddress>();
  for (const [node, addr] of Object.entries(c.nodes)) m.set(node, parseSocketAddress(addr));
  return m;
}

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
  const cached = state.lastConfig();
  if (cached) routes.replace(nodeTable(cached));
  const gateway = await startGateway({ listen: config.listen, routes, log: log.child({ part: 'splice' }), registry, caps: config.limits });

  const stream = identity.client.followConfig(
    formatSocketAddress(config.advertise ?? gateway.address),
    (c) => {
      state.saveConfig(c);
      try {
        routes.replace(nodeTable(c));
      } catch (err) {
        log.error({ err: (err as Error).message }, 'route table rejected; keeping the previous one');
      }
    },
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
