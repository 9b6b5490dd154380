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
