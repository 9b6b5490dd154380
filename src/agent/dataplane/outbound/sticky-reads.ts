// Outbound layer: TCP read-your-writes for data services (docs/data-routing.md).
// A caller identity's connection to a data service's read-write name marks
// it, when the connection opens and again when it ends; for the route's
// stickyAfterWrite after the last mark, that identity's connections to the
// read-only name go to the primary instead of a replica. Calls to any other
// host pass through at the cost of one field read (the route layer sets it).
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';

/** Marks per (route, caller identity), bounded: a node has few workloads, but nothing here may grow without end. */
export class WriteMarks {
  private readonly marks = new Map<string, number>();

  constructor(private readonly now: () => number, private readonly capacity = 10_000) {}

  mark(key: string): void {
    this.marks.delete(key);
    this.marks.set(key, this.now());
    // Oldest first (insertion order): past the capacity the oldest mark goes; it is the least likely to matter.
    if (this.marks.size > this.capacity) this.marks.delete(this.marks.keys().next().value!);
  }

  /** Marked within the last `windowMs`. */
  within(key: string, windowMs: number): boolean {
    const at = this.marks.get(key);
    return at !== undefined && this.now() - at < windowMs;
  }
}

export function stickyReadsLayer(marks: WriteMarks, onSticky?: (route: string) => void): Layer<OutboundCall> {
  return (next) => async (call) => {
    // Set by the route layer, only on a data service's TCP names: every other call pays one field read.
    const sticky = call.sticky;
    if (!sticky || !call.workload) return next(call);
    const key = `${sticky.route} ${call.workload.spiffeId.toString()}`;
    if (sticky.role === 'write') {
      marks.mark(key);
      try {
        return await next(call);
      } finally {
        marks.mark(key);
      }
    }
    const primary = sticky.primary.get(call.port);
    if (primary && primary.length > 0 && marks.within(key, sticky.stickyMs)) {
      call.endpoints = primary;
      // Balanced with the read-write name's calls: the same endpoints, one balancer, no churn.
      call.balanceHost = sticky.readWriteHost;
      onSticky?.(sticky.route);
    }
    return next(call);
  };
}
