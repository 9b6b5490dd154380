// Which routes a gateway takes from its region's config: the agents of its own
// region's registry (MeshConfig.nodes holds agents only), each at a literal
// IP:port that is none of its controller's listeners nor the gateway's own.
// Otherwise a config could turn the gateway into a TLS relay to internal
// endpoints. Pure: the whole config is refused, never half-applied.
import { parseSocketAddress, sameListener, type SocketAddress } from '../core/address.js';
import type { MeshConfig } from '../mesh/mesh-config.js';

export interface GatewayRouteContext {
  /** The controller as the gateway dials it (from its controller URL). */
  /** Every controller replica's agent API: never a route target. */
  readonly controllers: readonly SocketAddress[];
  /** The gateway's own listen (and advertised) addresses. */
  readonly own: readonly SocketAddress[];
  readonly isLocal: (ip: string) => boolean;
}

export type GatewayRoutesDecision =
  | { readonly kind: 'ok'; readonly value: ReadonlyMap<string, SocketAddress> }
  | { readonly kind: 'refused'; readonly reason: 'controller_address' | 'own_address'; readonly message: string };

/** `config` has passed checkMeshConfig: every node address parses. */
export function gatewayRoutes(config: MeshConfig, ctx: GatewayRouteContext): GatewayRoutesDecision {
  const controllers = [...ctx.controllers, ...(config.controllerAddresses ?? []).map((a) => parseSocketAddress(a))];
  const out = new Map<string, SocketAddress>();
  for (const [node, text] of Object.entries(config.nodes)) {
    const addr = parseSocketAddress(text, `nodes.${node}`);
    if (controllers.some((c) => sameListener(c, addr, ctx.isLocal))) {
      return { kind: 'refused', reason: 'controller_address', message: `nodes.${node}: "${text}" is an address of the controller; expected an agent's inbound address` };
    }
    if (ctx.own.some((o) => sameListener(o, addr, ctx.isLocal))) {
      return { kind: 'refused', reason: 'own_address', message: `nodes.${node}: "${text}" is this gateway's own address; expected an agent's inbound address` };
    }
    out.set(node, addr);
  }
  return { kind: 'ok', value: out };
}
