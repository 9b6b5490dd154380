// Which regions a gateway relays to, and through which of their gateways:
// from the config, the remote regions named in relayTo (federation.relay.serve
// of this region's controller), each with the gateway addresses this region
// dials. Never this region's own trust domain (those names go to its agents),
// never an address of the controller or of this gateway (a config must not
// turn the gateway into a relay to internal endpoints). Pure.
import { parseSocketAddress, sameListener, type SocketAddress } from '../core/address.js';
import { parseMeshSni } from '../mesh/sni-name.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import type { GatewayRouteContext } from './gateway-routes.js';
import type { GatewayRoutes } from './route-decision.js';

export interface RelayTarget {
  readonly region: string;
  readonly trustDomain: string;
  readonly gateways: readonly SocketAddress[];
}

/**
 * Every live remote region of another trust domain with the gateway addresses
 * this region dials for it, less the controller's and the gateway's own
 * addresses. `config` has passed checkMeshConfig.
 */
function remoteGateways(config: MeshConfig, ctx: GatewayRouteContext): RelayTarget[] {
  const controllers = [...ctx.controllers, ...(config.controllerAddresses ?? []).map((a) => parseSocketAddress(a))];
  const out: RelayTarget[] = [];
  for (const r of config.remoteRegions) {
    if (r.expired || r.trustDomain.toLowerCase() === config.trustDomain.toLowerCase()) continue;
    const gateways = (r.gateways ?? (r.gateway ? [r.gateway] : []))
      .map((g) => parseSocketAddress(g))
      .filter((a) => !controllers.some((c) => sameListener(c, a, ctx.isLocal)) && !ctx.own.some((o) => sameListener(o, a, ctx.isLocal)));
    if (gateways.length > 0) out.push({ region: r.region, trustDomain: r.trustDomain.toLowerCase(), gateways });
  }
  return out;
}

/** The regions this gateway relays to: those of remoteGateways() the config lists in relayTo. */
export function relayTargets(config: MeshConfig, ctx: GatewayRouteContext): RelayTarget[] {
  const allowed = new Set(config.relayTo ?? []);
  return remoteGateways(config, ctx).filter((t) => allowed.has(t.region));
}

/** Every remote gateway address in the config, for the prober (relayed to or not, each is a link to measure). */
export function probeTargets(config: MeshConfig, ctx: GatewayRouteContext): { region: string; address: SocketAddress }[] {
  return remoteGateways(config, ctx).flatMap((t) => t.gateways.map((address) => ({ region: t.region, address })));
}

/**
 * The gateway's routes: its own region's agents first; names of a region it
 * relays to go to that region's first gateway the probes say answers (the
 * first listed while none is known to).
 */
export class GatewayRouter implements GatewayRoutes {
  private targets: ReadonlyMap<string, RelayTarget> = new Map();

  constructor(
    private readonly local: GatewayRoutes,
    private readonly reachable: (region: string, address: SocketAddress) => boolean | undefined,
  ) {}

  replaceRelays(targets: readonly RelayTarget[]): void {
    this.targets = new Map(targets.map((t) => [t.trustDomain, t]));
  }

  lookup(serverName: string): SocketAddress | undefined {
    return this.local.lookup(serverName);
  }

  relay(serverName: string): { region: string; target: SocketAddress } | undefined {
    const name = serverName.toLowerCase();
    for (const [td, t] of this.targets) {
      if (!name.endsWith(`.${td}`) || parseMeshSni(name, td) === undefined) continue;
      const target = t.gateways.find((g) => this.reachable(t.region, g) === true) ?? t.gateways.find((g) => this.reachable(t.region, g) !== false) ?? t.gateways[0]!;
      return { region: t.region, target };
    }
    return undefined;
  }
}
