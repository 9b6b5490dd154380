// Endpoint choice for one app connection, as a pure function: the route's
// endpoints come in preference order; the ones in the first endpoint's region
// take turns (round robin by `turn`), the others follow in order as failover.
// A later load balancer (EWMA, outlier ejection) replaces this file.
import type { Endpoint } from '../dataplane-snapshot.js';

/** Every endpoint exactly once, in the order to try them. */
export function orderEndpoints(endpoints: readonly Endpoint[], turn: number): Endpoint[] {
  const first = endpoints[0];
  if (!first) return [];
  const near: Endpoint[] = [];
  const far: Endpoint[] = [];
  for (const e of endpoints) (e.region === first.region ? near : far).push(e);
  const n = near.length;
  const start = ((Math.trunc(turn) % n) + n) % n;
  return [...near.slice(start), ...near.slice(0, start), ...far];
}
