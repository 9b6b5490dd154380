// Decide, then do: turns a parsed ClientHello and the current routes into one
// gateway decision (route, or refuse with a counted reason and the TLS alert to send).
import type { ClientHelloParse } from './client-hello.js';
import type { SocketAddress } from '../core/address.js';
import { describeError } from '../core/errors.js';

/** Where the gateway sends a connection, by the SNI host name it carried. */
export interface GatewayRoutes {
  /** The destination agent's inbound address, or undefined when this gateway does not serve the name. */
  lookup(serverName: string): SocketAddress | undefined;
  /**
   * For a name of another region's trust domain that this region relays to:
   * that region and the address of its gateway to dial. Never asked for a
   * connection that was itself relayed (one hop only).
   */
  relay?(serverName: string): { region: string; target: SocketAddress } | undefined;
}

export type RefusalResult = 'no_sni' | 'unknown_sni' | 'not_tls' | 'malformed' | 'timeout' | 'upstream_unreachable';
/** Refused at accept, before reading anything: the gateway or this source is at its connection cap. */
export type CapacityResult = 'over_capacity' | 'source_over_capacity';
/** Every connection ends up counted under exactly one result. */
/** routed: to an agent of this region; relayed: on to another region's gateway; probe: a peer gateway's reachability probe, answered. */
export type GatewayResult = 'routed' | 'relayed' | 'probe' | 'aborted' | RefusalResult | CapacityResult;
export const GATEWAY_RESULTS: readonly GatewayResult[] = [
  'routed', 'relayed', 'probe', 'aborted', 'no_sni', 'unknown_sni', 'not_tls', 'malformed', 'timeout', 'upstream_unreachable', 'over_capacity', 'source_over_capacity',
];

/** TLS alert descriptions the gateway may send (RFC 8446 §6, RFC 6066 §3). */
export const TlsAlert = {
  handshake_failure: 40,
  decode_error: 50,
  internal_error: 80,
  unrecognized_name: 112,
} as const;
export type TlsAlertName = keyof typeof TlsAlert;

export type Refusal = { kind: 'refuse'; result: RefusalResult; reason: string; alert?: TlsAlertName; serverName?: string };
export type GatewayDecision =
  | { kind: 'route'; serverName: string; target: SocketAddress }
  | { kind: 'relay'; serverName: string; region: string; target: SocketAddress }
  | Refusal;

/**
 * Decides what to do with a connection whose ClientHello parse is final.
 * `relayedFrom`: the region whose gateway relayed this connection here; such
 * a connection goes to this region's agents or nowhere.
 */
export function decideRoute(parse: Exclude<ClientHelloParse, { kind: 'incomplete' }>, routes: GatewayRoutes, relayedFrom?: string): GatewayDecision {
  if (parse.kind === 'invalid') {
    // A peer that does not speak TLS would not understand an alert; one that does deserves to know why.
    return parse.notTls
      ? { kind: 'refuse', result: 'not_tls', reason: parse.reason }
      : { kind: 'refuse', result: 'malformed', reason: parse.reason, alert: 'decode_error' };
  }
  const serverName = parse.serverName;
  if (serverName === undefined) {
    return { kind: 'refuse', result: 'no_sni', reason: 'ClientHello carries no server_name; the gateway routes on SNI only', alert: 'handshake_failure' };
  }
  let target: SocketAddress | undefined;
  let relay: { region: string; target: SocketAddress } | undefined;
  try {
    target = routes.lookup(serverName);
    if (target === undefined && relayedFrom === undefined) relay = routes.relay?.(serverName);
  } catch (err) {
    return { kind: 'refuse', result: 'unknown_sni', serverName, reason: `route lookup failed: ${describeError(err)}`, alert: 'unrecognized_name' };
  }
  if (target !== undefined) return { kind: 'route', serverName, target };
  if (relay !== undefined) return { kind: 'relay', serverName, region: relay.region, target: relay.target };
  const why = relayedFrom !== undefined
    ? `no route for server name "${serverName}" among this region's agents (relayed from ${relayedFrom}: a relayed connection is never relayed again)`
    : `no route for server name "${serverName}"`;
  return { kind: 'refuse', result: 'unknown_sni', serverName, reason: why, alert: 'unrecognized_name' };
}

/** A fatal alert as one plaintext TLS record (legacy record version 0x0303, as TLS 1.3 servers send). */
export function tlsAlertRecord(alert: TlsAlertName): Buffer {
  return Buffer.from([21, 3, 3, 0, 2, 2, TlsAlert[alert]]);
}
