// The bulkhead: at most N concurrent app connections per destination workload
// at the inbound agent (L4 streams and in-flight L7 requests share the budget),
// so one caller flooding one workload cannot take every socket of the node.
import type { Gauge } from 'prom-client';
import { KeyedCounts, once, type Release } from '../../../core/keyed-counts.js';

export type Admission = { kind: 'admit' } | { kind: 'refuse'; reason: string };

/** Decide: admit while below the cap. Pure, table-tested. */
export function decideAdmission(workload: string, active: number, max: number): Admission {
  if (active < max) return { kind: 'admit' };
  return {
    kind: 'refuse',
    reason: `workload ${workload} has ${active} concurrent app connections, the limit (limits.maxConnectionsPerWorkload) is ${max}; retry later or raise the limit`,
  };
}

export type { Release } from '../../../core/keyed-counts.js';

export class WorkloadBulkhead {
  private readonly active = new KeyedCounts();
  /** Bound gauge children: an L7 request costs no label hashing (keys are local workloads only). */
  private readonly children = new Map<string, { inc(): void; dec(): void }>();

  constructor(private readonly max: number, private readonly gauge?: Gauge<'workload'>) {}

  /** Takes a slot for `workload` ("namespace/name") or says why not. */
  acquire(workload: string): { kind: 'admit'; release: Release } | { kind: 'refuse'; reason: string } {
    const d = decideAdmission(workload, this.active.get(workload), this.max);
    if (d.kind === 'refuse') return d;
    const give = this.active.take(workload);
    const child = this.child(workload);
    child?.inc();
    return {
      kind: 'admit',
      release: once(() => {
        give();
        child?.dec();
      }),
    };
  }

  private child(workload: string): { inc(): void; dec(): void } | undefined {
    if (!this.gauge) return undefined;
    let c = this.children.get(workload);
    if (!c) {
      c = this.gauge.labels(workload);
      this.children.set(workload, c);
    }
    return c;
  }

  inUse(workload: string): number {
    return this.active.get(workload);
  }
}
