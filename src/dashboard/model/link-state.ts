// How the dashboard draws the link from its region to a peer, from what the
// controller reports of that peer: the gateways' probes of the direct path,
// the federation pulls, relays and the age of the peer's state. Pure, shared
// by the page and its unit test.

export type LinkState = 'up' | 'degraded' | 'relayed' | 'partitioned';

export interface PeerLinkFacts {
  readonly reachable: boolean;
  readonly relayOnly?: boolean;
  readonly stale?: boolean;
  readonly expired?: boolean;
  readonly link?: { readonly reachable: boolean; readonly rttMs?: number; readonly loss?: number };
  readonly relays?: readonly { readonly via: string }[];
}

/** Loss above this share of probes makes an otherwise working link degraded. */
export const DEGRADED_LOSS = 0.05;

export function linkState(p: PeerLinkFacts): { state: LinkState; why: string } {
  const via = (p.relays ?? []).map((r) => r.via);
  if (p.link && !p.link.reachable) {
    return via.length > 0 ? { state: 'relayed', why: `direct path cut; relayed through ${via.join(', ')}` } : { state: 'partitioned', why: 'direct path cut and no relay' };
  }
  if (p.expired) return { state: 'partitioned', why: 'its state expired: its services are withheld' };
  if (!p.relayOnly && !p.reachable && p.link === undefined) return { state: 'partitioned', why: 'federation API not answering, no probe report' };
  if (!p.relayOnly && !p.reachable) return { state: 'degraded', why: 'federation API not answering (the data path still answers probes)' };
  if (p.stale) return { state: 'degraded', why: 'its state is stale: routes kept but demoted' };
  if (p.link?.loss !== undefined && p.link.loss > DEGRADED_LOSS) return { state: 'degraded', why: `${Math.round(p.link.loss * 100)}% of probes lost` };
  return { state: 'up', why: p.relayOnly ? 'relay only' : 'direct path and federation answer' };
}
