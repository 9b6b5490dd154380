// The gateway's connection caps: how many client connections it holds at once,
// in all and per source IP, so one noisy or hostile source cannot take every
// socket. Decide (pure, table-tested) then count; refused connections never count.
import type { CapacityResult } from './route-decision.js';
import { KeyedCounts, once } from '../core/keyed-counts.js';

export interface GatewayCaps {
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
}

export const DEFAULT_GATEWAY_CAPS: GatewayCaps = { maxConnections: 16_384, maxConnectionsPerSource: 1024 };

export type CapDecision = { kind: 'admit' } | { kind: 'refuse'; result: CapacityResult; reason: string };

export function decideCapacity(caps: GatewayCaps, active: number, fromSource: number, source: string): CapDecision {
  if (active >= caps.maxConnections) {
    return { kind: 'refuse', result: 'over_capacity', reason: `gateway holds ${active} connections, the limit (limits.maxConnections) is ${caps.maxConnections}` };
  }
  if (fromSource >= caps.maxConnectionsPerSource) {
    return { kind: 'refuse', result: 'source_over_capacity', reason: `${source} holds ${fromSource} connections, the limit per source (limits.maxConnectionsPerSource) is ${caps.maxConnectionsPerSource}` };
  }
  return { kind: 'admit' };
}

/** Open connections in all and per source address; admit() takes a slot that release() gives back once. */
export class ConnectionCaps {
  private total = 0;
  /** Only sources with open connections are kept: its size is bounded by maxConnections. */
  private readonly bySource = new KeyedCounts();

  constructor(readonly caps: GatewayCaps) {}

  admit(source: string): { kind: 'admit'; release: () => void } | Extract<CapDecision, { kind: 'refuse' }> {
    const d = decideCapacity(this.caps, this.total, this.bySource.get(source), source);
    if (d.kind === 'refuse') return d;
    this.total++;
    const give = this.bySource.take(source);
    return {
      kind: 'admit',
      release: once(() => {
        this.total--;
        give();
      }),
    };
  }
}
