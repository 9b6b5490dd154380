// The flows this region's agents reported, newest kept: a fixed ring, so a
// busy region costs a bounded amount of memory and adding is one store.
import type { StoredFlow } from '../mesh/flow-wire.js';
import { flowMatches, type FlowFilter } from './flow-query.js';

export class FlowStore {
  private readonly ring: (StoredFlow | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<StoredFlow | undefined>(capacity);
  }

  add(f: StoredFlow): void {
    this.ring[this.next] = f;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The newest `q.limit` flows that match, oldest first. */
  query(q: FlowFilter): StoredFlow[] {
    const out: StoredFlow[] = [];
    for (let i = 1; i <= this.capacity && out.length < q.limit; i++) {
      const f = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (f === undefined) break;
      if (flowMatches(f, q)) out.push(f);
    }
    return out.reverse();
  }
}

/** Flows of several regions merged in time order, the newest `limit` kept. */
export function mergeFlows(lists: readonly (readonly StoredFlow[])[], limit: number): StoredFlow[] {
  const all = lists.flat().sort((a, b) => a.time - b.time);
  return all.length > limit ? all.slice(all.length - limit) : all;
}
