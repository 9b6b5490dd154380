// Which pooled sessions a new snapshot condemns: those dialled directly to a
// region that has just become unreachable by the gateways' probes. They are
// likely dead behind a silent network; closing them now makes their streams
// fail and the waiting connects fail over, instead of waiting out a ping
// interval. Relayed paths to the region stay (they go through another gateway).
import { formatSocketAddress } from '../../../../core/address.js';
import type { DataplaneSnapshot } from '../../dataplane-snapshot.js';

export function newlyCutDials(prev: DataplaneSnapshot | undefined, next: DataplaneSnapshot): Set<string> {
  const cut = new Set<string>();
  const now = next.unreachableRegions;
  if (!now || now.size === 0) return cut;
  const regions = [...now].filter((r) => !prev?.unreachableRegions?.has(r));
  if (regions.length === 0) return cut;
  for (const route of next.routes.values()) {
    for (const eps of route.ports.values()) {
      for (const e of eps) if (e.via === undefined && regions.includes(e.region)) cut.add(formatSocketAddress(e.dial));
    }
  }
  return cut;
}

/** How long a session on a cut path has to answer a PING: 3 × its RTT + 100 ms, 300 ms to 1 s (300 ms RTT assumed when unknown). */
export function cutPingBoundMs(rttMs: number | undefined): number {
  return Math.min(1000, Math.max(300, 3 * (rttMs ?? 300) + 100));
}

/**
 * What to do with a pooled session whose path the probes found cut: close a
 * session still connecting at once (nothing was sent on it yet), and one whose
 * busy ping has been unanswered for the bound already; ping any other and
 * close it only if that ping goes unanswered for the bound.
 */
export function cutVerdict(entry: { readonly connected: boolean; readonly busyPingSentAt: number | undefined }, now: number, boundMs: number): 'close' | 'ping' {
  if (!entry.connected) return 'close';
  if (entry.busyPingSentAt !== undefined && now - entry.busyPingSentAt >= boundMs) return 'close';
  return 'ping';
}
