// How this region reaches each remote region, from what its own gateways
// measure and what the other regions publish: the direct path's reachability
// and RTT, and the regions that could relay (one hop: a region B relays for us
// to C when B serves relay to C, B's gateways reach C, we may go through B and
// ours do not find B unreachable). Pure; the controller puts the result in the
// config its agents rank paths by.
import type { LinkSummary, RelayPath, RemoteRegion } from '../mesh/mesh-config.js';

/** At most this many relay candidates per region reach the agents (each adds endpoints). */
export const MAX_RELAYS = 2;

export function listed(list: readonly string[], region: string): boolean {
  return list.includes('*') || list.includes(region);
}

export interface PeerPathView {
  readonly links?: readonly LinkSummary[];
  readonly relayFor?: readonly string[];
}

export function withPaths(
  remotes: readonly RemoteRegion[],
  own: readonly LinkSummary[],
  peer: (region: string) => PeerPathView | undefined,
  via: readonly string[],
): RemoteRegion[] {
  const ownLink = new Map(own.map((l) => [l.region, l]));
  return remotes.map((c) => {
    const direct = ownLink.get(c.region);
    const relays: RelayPath[] = [];
    if (!c.expired) {
      for (const b of remotes) {
        if (b.region === c.region || b.expired || b.stale || !listed(via, b.region)) continue;
        const toB = ownLink.get(b.region);
        if (toB?.reachable === false || (b.gateways ?? []).length === 0) continue;
        const view = peer(b.region);
        if (!view?.relayFor?.includes(c.region)) continue;
        const bToC = view.links?.find((l) => l.region === c.region);
        if (!bToC?.reachable) continue;
        relays.push({ via: b.region, ...(toB?.rttMs !== undefined && bToC.rttMs !== undefined ? { rttMs: toB.rttMs + bToC.rttMs } : {}) });
      }
    }
    relays.sort((x, y) => (x.rttMs ?? Infinity) - (y.rttMs ?? Infinity) || (x.via < y.via ? -1 : 1));
    return {
      ...c,
      ...(direct ? { reachable: direct.reachable, loss: direct.loss, ...(direct.rttMs !== undefined ? { rttMs: direct.rttMs } : {}) } : {}),
      ...(relays.length > 0 ? { relays: relays.slice(0, MAX_RELAYS) } : {}),
    };
  });
}
