// The few statistics the data plane benchmark reports: medians, paired
// per-round ratios and the "added latency" ratio, each refusing to divide by
// a value that makes the ratio meaningless (reported as null with a reason).
import { percentile } from '../../src/lab/latency-stats.js';

export { percentile };

export function median(xs: readonly number[]): number | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A ratio, or null (with why) when the denominator is not positive or either side is missing. */
export type Ratio = { kind: 'ok'; value: number } | { kind: 'undefined'; why: string };

export function ratio(num: number | null | undefined, den: number | null | undefined, what = 'denominator'): Ratio {
  if (num === null || num === undefined || den === null || den === undefined || !Number.isFinite(num) || !Number.isFinite(den)) {
    return { kind: 'undefined', why: 'a value is missing' };
  }
  if (den <= 0) return { kind: 'undefined', why: `${what} is ${den.toFixed(3)} (not positive)` };
  return { kind: 'ok', value: num / den };
}

/**
 * The median of per-round ratios, rounds paired by index: each ratio compares
 * variants measured back to back, so slow drift in machine load cancels out.
 * Rounds whose ratio is undefined are left out; null when none is left, with
 * the reasons of the rounds that were dropped.
 */
export function medianOfRatios(perRound: readonly Ratio[]): { value: number | null; rounds: (number | null)[]; why?: string } {
  const rounds = perRound.map((r) => (r.kind === 'ok' ? r.value : null));
  const value = median(rounds.filter((r): r is number => r !== null));
  const dropped = perRound.flatMap((r, i) => (r.kind === 'undefined' ? [`round ${i + 1}: ${r.why}`] : []));
  return { value, rounds, ...(dropped.length ? { why: dropped.join('; ') } : {}) };
}

/** What a proxy adds over direct, as a share of what the reference proxy adds: (x − direct) / (ref − direct). */
export function addedRatio(x: number | null | undefined, ref: number | null | undefined, direct: number | null | undefined): Ratio {
  if (x === null || x === undefined || ref === null || ref === undefined || direct === null || direct === undefined) return { kind: 'undefined', why: 'a value is missing' };
  return ratio(x - direct, ref - direct, 'the reference proxy\'s added latency');
}
