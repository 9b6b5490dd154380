// Per-second, per-route counts of the demo traffic, by completion time (epoch
// seconds), bounded to the last BUCKET_KEEP_S seconds. A drill report is
// computed from them (drill-report.ts).

/** One route's requests that completed within one epoch second. */
export interface RouteBucket {
  readonly second: number;
  requests: number;
  ok: number;
  denied: number;
  failed: number;
  /** Latency (ms) of every request that was answered (ok or denied). */
  samples: number[];
}

export const BUCKET_KEEP_S = 600;

export class RouteBuckets {
  private readonly bySecond = new Map<number, RouteBucket>();

  record(outcome: 'ok' | 'denied' | 'failed', latencyMs: number | undefined, nowMs = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    let b = this.bySecond.get(second);
    if (!b) {
      b = { second, requests: 0, ok: 0, denied: 0, failed: 0, samples: [] };
      this.bySecond.set(second, b);
      // Insertion order is time order: drop from the front.
      for (const s of this.bySecond.keys()) {
        if (s > second - BUCKET_KEEP_S) break;
        this.bySecond.delete(s);
      }
    }
    b.requests++;
    b[outcome]++;
    if (latencyMs !== undefined) b.samples.push(latencyMs);
  }

  /** Buckets of seconds >= since, oldest first. */
  since(since: number): RouteBucket[] {
    return [...this.bySecond.values()].filter((b) => b.second >= since);
  }
}
