// Per-route counters and latency samples, and exact percentiles over them.
// The lab keeps every sample of a run: at its rates that is a few MB per hour.

export interface RouteCounters {
  requests: number;
  ok: number;
  denied: number;
  failed: number;
}

export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export class LatencySamples {
  private samples: number[] = [];
  private sorted: number[] | undefined;

  add(values: readonly number[]): void {
    for (const v of values) this.samples.push(v);
    this.sorted = undefined;
  }

  get count(): number {
    return this.samples.length;
  }

  p(pct: number): number | undefined {
    this.sorted ??= [...this.samples].sort((a, b) => a - b);
    return percentile(this.sorted, pct);
  }
}
