// The gateway's routes inside one region: mesh SNI names of the region's trust
// domain, routed on their node label to that node's agent inbound address.
import { parseMeshSni, isDnsLabel } from '../mesh/sni-name.js';
import { EntenteError } from '../core/errors.js';
import type { SocketAddress } from '../core/address.js';
import type { GatewayRoutes } from './route-decision.js';

export class AgentRouteTable implements GatewayRoutes {
  private readonly trustDomain: string;
  // Replaced whole, never mutated: a lookup always sees one consistent snapshot.
  private nodes: ReadonlyMap<string, SocketAddress> = new Map();

  constructor(trustDomain: string) {
    const td = trustDomain.toLowerCase();
    if (td.length === 0 || td.length > 255 || !td.split('.').every(isDnsLabel)) {
      throw new EntenteError('GATEWAY_BAD_TRUST_DOMAIN', `gateway trust domain "${trustDomain}" is not a DNS name`, {
        hint: 'use the region trust domain, e.g. "eu.example"',
      });
    }
    this.trustDomain = td;
  }

  /** Installs a new node → agent inbound address map; throws (keeping the old one) if any entry is bad. */
  replace(nodes: ReadonlyMap<string, SocketAddress>): void {
    const next = new Map<string, SocketAddress>();
    for (const [node, addr] of nodes) {
      const name = node.toLowerCase();
      if (!isDnsLabel(name)) {
        throw new EntenteError('GATEWAY_BAD_ROUTE', `node name "${node}" is not a DNS label`, {
          hint: 'node names appear as one label of the mesh SNI name: lowercase letters, digits and "-"',
        });
      }
      if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65_535 || addr.host.length === 0) {
        throw new EntenteError('GATEWAY_BAD_ROUTE', `node "${node}" has an invalid agent address ${addr.host}:${addr.port}`, {
          hint: 'expected the agent inbound host and a port 1-65535',
        });
      }
      next.set(name, { host: addr.host, port: addr.port });
    }
    this.nodes = next;
  }

  lookup(serverName: string): SocketAddress | undefined {
    const name = parseMeshSni(serverName, this.trustDomain);
    return name === undefined ? undefined : this.nodes.get(name.node);
  }

  get size(): number {
    return this.nodes.size;
  }
}
