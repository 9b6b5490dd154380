// Delay before a retry: exponential with full jitter (AWS Architecture Blog,
// "Exponential Backoff And Jitter"), so callers that failed together do not
// retry together.

import { DEFAULT_TRAFFIC } from '../../../../policy/traffic-policy.js';
export interface BackoffOptions {
  /** Ceiling of the first retry's delay, ms; doubles per attempt. */
  readonly baseMs: number;
  /** Ceiling of any delay, ms. */
  readonly maxMs: number;
}

/** TrafficPolicy's default backoff (src/policy/traffic-policy.ts says why). */
export const DEFAULT_BACKOFF: BackoffOptions = DEFAULT_TRAFFIC.retry.backoff;

/**
 * Uniform in [0, min(maxMs, baseMs * 2^(attempt - 1))); attempt 1 is the first
 * retry (attempts below 1 count as 1). `random` is uniform in [0, 1).
 */
export function backoffMs(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number): number {
  // 2^52 already exceeds any sane cap; bounding the exponent keeps 0 * Infinity (NaN) out.
  const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 52);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return random() * ceiling;
}
