// Counts of things held per key (connections per source, per workload), with
// a release that gives a slot back exactly once. Keys at zero are dropped, so
// the map holds only keys with something open.

/** Gives back one slot; calling it again does nothing. */
export type Release = () => void;

/** `fn` wrapped so that only its first call runs: the shape of every release. */
export function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

export class KeyedCounts {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Counts one more for `key`; the returned release undoes it once. */
  take(key: string): Release {
    this.counts.set(key, this.get(key) + 1);
    return once(() => {
      const left = this.get(key) - 1;
      if (left <= 0) this.counts.delete(key);
      else this.counts.set(key, left);
    });
  }
}
