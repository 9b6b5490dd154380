// Outlier ejection: an endpoint that fails several calls in a row is left out
// of picks for a while, longer each time it happens again. Count-based and
// evaluated on every result (no interval), so ejection follows the failures at
// once; expiry is lazy (checked against `now`), the owner rebuilds at nextExpiry().

/** How one call ended, as outlier detection sees it. */
import { DEFAULT_TRAFFIC } from '../../../../policy/traffic-policy.js';
export type CallResult = 'ok' | 'connect' | 'reset' | '5xx';

export interface OutlierOptions {
  /** Failures in a row that eject an endpoint. */
  readonly consecutiveFailures: number;
  /** The n-th ejection of an endpoint lasts baseEjectionMs * n (capped), ms. */
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  /** At most this share of the set is ejected at once (0..100, 0 turns ejection off); never the last endpoint. */
  readonly maxEjectedPercent: number;
}

/** The defaults are TrafficPolicy's (src/policy/traffic-policy.ts says why each is what it is): one source of truth. */
export const DEFAULT_OUTLIER: OutlierOptions = DEFAULT_TRAFFIC.outlier;

interface State {
  failures: number;
  /** Ejections that still lengthen the next one, as of `until`. */
  ejections: number;
  /** End of the current or last ejection; 0 if never ejected. */
  until: number;
}

export class OutlierDetector {
  private readonly states = new Map<string, State>();

  constructor(private readonly options: OutlierOptions) {}

  /** The current set; removed endpoints are forgotten, new ones start clean. */
  setEndpoints(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const key of this.states.keys()) if (!keep.has(key)) this.states.delete(key);
    for (const key of keep) if (!this.states.has(key)) this.states.set(key, { failures: 0, ejections: 0, until: 0 });
  }

  /**
   * Records one result. `changed` says whether the ejected set changed (the
   * owner rebuilds its picker only then). Results for unknown keys (a late
   * answer from a removed endpoint) and failures while ejected are ignored.
   */
  report(key: string, result: CallResult, now: number): { changed: boolean } {
    const s = this.states.get(key);
    if (!s) return { changed: false };
    if (result === 'ok') {
      s.failures = 0;
      return { changed: false };
    }
    if (s.until > now) return { changed: false };
    s.failures += 1;
    if (s.failures < this.options.consecutiveFailures || !this.roomToEject(now)) return { changed: false };
    const { baseEjectionMs, maxEjectionMs, consecutiveFailures } = this.options;
    const n = this.ejectionsAt(s, now) + 1;
    s.ejections = n;
    s.until = now + Math.min(baseEjectionMs * n, maxEjectionMs);
    // Probation: back from ejection, one more failure ejects it again (for
    // longer), so a still-dead endpoint costs one call per period, not three.
    // A success in between clears it as usual.
    s.failures = consecutiveFailures - 1;
    return { changed: true };
  }

  isEjected(key: string, now: number): boolean {
    const s = this.states.get(key);
    return s !== undefined && s.until > now;
  }

  /** When the key's current or last ejection ends (0 if never ejected), or undefined for an unknown key. */
  ejectedUntil(key: string): number | undefined {
    return this.states.get(key)?.until;
  }

  /** When the earliest ejection running at `now` ends (the owner rebuilds then), or undefined if none. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const s of this.states.values()) if (s.until > now && (next === undefined || s.until < next)) next = s.until;
    return next;
  }

  /**
   * The cap: ejected at once at most floor(size * maxEjectedPercent / 100), but
   * at least 1 so a small set can still shed a bad endpoint (as Envoy), unless
   * the percentage is 0; and never all: a set of one is never ejected.
   */
  private roomToEject(now: number): boolean {
    const size = this.states.size;
    const pct = this.options.maxEjectedPercent;
    const cap = pct <= 0 ? 0 : Math.min(size - 1, Math.max(1, Math.floor((size * pct) / 100)));
    let ejected = 0;
    for (const s of this.states.values()) if (s.until > now) ejected += 1;
    return ejected < cap;
  }

  /**
   * Ejection count with decay: after an ejection ends, each further
   * baseEjectionMs without a new ejection takes one off, so an endpoint that
   * failed once long ago starts again from a short ejection.
   */
  private ejectionsAt(s: State, now: number): number {
    if (s.ejections === 0 || now <= s.until) return s.ejections;
    return Math.max(0, s.ejections - Math.floor((now - s.until) / this.options.baseEjectionMs));
  }
}
