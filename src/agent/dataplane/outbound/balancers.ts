// The balancer seam of the outbound stack: one balancer per (route, port),
// created on first use and kept while the snapshot's endpoint list for it is
// the same. Today's policy is round robin within the nearest region with the
// others as failover (endpoint-picker.ts).
import type { Endpoint } from '../dataplane-snapshot.js';
import type { Outcome } from '../outcome.js';
import type { OutboundCall } from './call.js';
import { orderEndpoints } from './endpoint-picker.js';
import { formatSocketAddress } from '../../../core/address.js';

export type Pick =
  | { kind: 'pick'; endpoint: Endpoint; key: string; start(): { end(o: Outcome): void } }
  | { kind: 'none'; reason: string };

export function endpointKey(e: Endpoint): string {
  return `${e.spiffeId.toString()}|${formatSocketAddress(e.dial)}|${e.authority}`;
}

const NOOP = { end(): void {} };

export class Balancers {
  private readonly turns = new Map<string, number>();

  pick(call: OutboundCall): Pick {
    const endpoints = call.endpoints ?? [];
    const target = `${call.host}:${call.port}`;
    const turn = this.turns.get(target) ?? 0;
    if (call.attempt.number === 1) this.turns.set(target, (turn + 1) % 1_000_000);
    for (const e of orderEndpoints(endpoints, turn)) {
      const key = endpointKey(e);
      if (call.tried?.has(key)) continue;
      return { kind: 'pick', endpoint: e, key, start: () => NOOP };
    }
    return { kind: 'none', reason: `${endpoints.length} endpoint(s), all tried` };
  }
}
