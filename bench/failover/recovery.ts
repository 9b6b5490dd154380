// What a failover run measured, from one record per request: how many failed
// and how long from the fault until requests were served normally again.
// Pure, so the definition is tested (recovery.test.ts) and the same for both
// sides of the comparison.

export interface RequestRecord {
  /** Start, ms on the run's clock. */
  readonly start: number;
  readonly latencyMs: number;
  readonly ok: boolean;
  /** Region of the replica that answered (from the response body), when known. */
  readonly servedBy?: string | undefined;
}

export interface FailoverResult {
  readonly requests: number;
  /** Requests affected by the fault (started after it, or still in flight when it hit) that failed. */
  readonly failed: number;
  /**
   * From the fault to the start of the first 1 s window (on a 100 ms grid)
   * from which on every window has ≥ 99% of its requests ok *and* under the
   * slow bound: a request that succeeds after waiting out a dead path is not
   * "served normally". 0 when no window after the fault falls short.
   */
  readonly recoverMs: number;
  /** Affected requests that took longer than the slow bound (ok or not). */
  readonly slow: number;
  readonly slowBoundMs: number;
  /** Latency of the ok requests that started in the last BASELINE_MS before the fault and ended before it. */
  readonly p50BeforeMs: number;
  readonly p99BeforeMs: number;
}

const WINDOW_MS = 1000;
export const BASELINE_MS = 3000;
const STEP_MS = 100;
export const OK_SHARE = 0.99;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * `faultAt` and `end` on the records' clock; records started after `end` are ignored.
 * A request still in flight when the fault hits is affected by it: it counts
 * with the requests after the fault (in the first window), never in the
 * baseline, where its wait for a dead path would loosen the slow bound.
 */
export function failoverResult(records: readonly RequestRecord[], faultAt: number, end: number): FailoverResult {
  const endsBefore = (r: RequestRecord): boolean => r.start + r.latencyMs < faultAt;
  // The steady state: the last BASELINE_MS before the fault (the first requests of a run open sessions).
  const before = records.filter((r) => r.start >= faultAt - BASELINE_MS && endsBefore(r) && r.ok).map((r) => r.latencyMs);
  const p99Before = percentile(before, 99);
  // Three times the steady p99, and never under 500 ms: slower than that, a caller notices.
  const slowBoundMs = Math.max(500, 3 * p99Before);
  const after = records.filter((r) => r.start <= end && !endsBefore(r));
  const windowStart = (r: RequestRecord): number => Math.max(r.start, faultAt);
  const good = (r: RequestRecord): boolean => r.ok && r.latencyMs <= slowBoundMs;
  let lastBad = -1;
  for (let t = faultAt; t + WINDOW_MS <= end; t += STEP_MS) {
    const w = after.filter((r) => windowStart(r) >= t && windowStart(r) < t + WINDOW_MS);
    if (w.length === 0) continue;
    if (w.filter(good).length / w.length < OK_SHARE) lastBad = t;
  }
  return {
    requests: after.length,
    failed: after.filter((r) => !r.ok).length,
    recoverMs: lastBad < 0 ? 0 : lastBad + STEP_MS - faultAt,
    slow: after.filter((r) => r.latencyMs > slowBoundMs).length,
    slowBoundMs,
    p50BeforeMs: percentile(before, 50),
    p99BeforeMs: p99Before,
  };
}

export interface FailbackResult {
  /**
   * From the heal to the start of the first 1 s window (100 ms grid) from
   * which on ≥ FAILBACK_SHARE of the ok requests are served by the nearest
   * region; undefined when that did not happen before `end`.
   */
  readonly failbackMs: number | undefined;
  /** Requests started after the heal that failed (a failback must lose none). */
  readonly failedAfterHeal: number;
  readonly requestsAfterHeal: number;
}

export const FAILBACK_SHARE = 0.9;

export function failbackResult(records: readonly RequestRecord[], healAt: number, end: number, nearest: string): FailbackResult {
  const after = records.filter((r) => r.start >= healAt && r.start <= end);
  const ok = after.filter((r) => r.ok);
  let lastBad = -1;
  let lastWindow = -1;
  for (let t = healAt; t + WINDOW_MS <= end; t += STEP_MS) {
    lastWindow = t;
    const w = ok.filter((r) => r.start >= t && r.start < t + WINDOW_MS);
    if (w.length === 0 || w.filter((r) => r.servedBy === nearest).length / w.length < FAILBACK_SHARE) lastBad = t;
  }
  // Not back while even the last window falls short (or there was no window at all).
  const back = lastWindow >= 0 && lastBad !== lastWindow;
  return {
    failbackMs: !back ? undefined : lastBad < 0 ? 0 : lastBad + STEP_MS - healAt,
    failedAfterHeal: after.filter((r) => !r.ok).length,
    requestsAfterHeal: after.length,
  };
}

/** The stand-ins and the demo app answer JSON that names their region. */
export function regionOf(body: string): string | undefined {
  try {
    const r = (JSON.parse(body) as { region?: unknown }).region;
    return typeof r === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
