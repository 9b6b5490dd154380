// The five paths every measurement runs over, all ending at the same nginx,
// and the order they run in within a round: variants a ratio compares are
// neighbours, so they are measured back to back.
import type { SocketAddress } from '../../src/core/address.js';

export type VariantId = 'direct' | 'entente-l4' | 'haproxy-tcp' | 'entente-l7' | 'haproxy-http';

export const LABELS: Record<VariantId, string> = {
  direct: 'direct to nginx',
  'entente-l4': 'entente L4 (outbound port)',
  'haproxy-tcp': 'haproxy pair, mode tcp',
  'entente-l7': 'entente L7 (HTTP proxy)',
  'haproxy-http': 'haproxy pair, mode http',
};

/** Throughput and new connections: each entente mode next to its HAProxy counterpart. */
export const CLOSED_LOOP_ORDER: readonly VariantId[] = ['direct', 'entente-l4', 'haproxy-tcp', 'entente-l7', 'haproxy-http'];
/** At 1k req/s: direct next to the pair the p99 ratio compares (L7 and HAProxy http). */
export const OPEN_LOOP_ORDER: readonly VariantId[] = ['direct', 'entente-l7', 'haproxy-http', 'entente-l4', 'haproxy-tcp'];

export interface Variant {
  readonly id: VariantId;
  readonly entry: SocketAddress;
  /** The request-target: "/" or, through the agent's HTTP proxy, an absolute URI. */
  readonly path: string;
  readonly hostHeader?: string;
  /** wrk Lua script sending `path` (absolute-URI requests). */
  readonly wrkScript?: string;
  /** Its traffic crosses the two agents, whose CPU and memory are then charged. */
  readonly throughAgents: boolean;
}
