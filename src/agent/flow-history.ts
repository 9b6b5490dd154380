// The agent's recent flows for `/flows`: a fixed ring, so recording a flow on
// the data path costs one array store, never a shift of the whole history.
import type { FlowRecord } from './dataplane/observe/flow-record.js';

export class FlowHistory {
  private readonly ring: (FlowRecord | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<FlowRecord | undefined>(capacity);
  }

  add(f: FlowRecord): void {
    this.ring[this.next] = f;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const f = this.ring[(this.next + i) % this.capacity];
      if (f) out.push(f);
    }
    return out;
  }
}
