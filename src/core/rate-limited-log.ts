// Rate-limited logging of refusals, with a budget per reason: a flood of one
// kind (routine policy denials) cannot hide another (forged certificates).
// Per window each reason logs at most `burst` lines; then one summary line
// says how many of each reason were suppressed.
import type { Logger } from './log.js';

export type RefusalLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RateLimitedLogOptions {
  /** Lines per reason per window before suppression (default 10). */
  readonly burst?: number;
  /** Window length in milliseconds (default 5000). */
  readonly windowMs?: number;
  /** Distinct reasons tracked per window; further ones share the "other" budget (default 64). */
  readonly maxReasons?: number;
  /** Milliseconds clock; injectable for tests. */
  readonly now?: () => number;
  /** Runs the end-of-window summary when a flood stops; injectable for tests (default: an unref'd setTimeout). */
  readonly schedule?: (fn: () => void, ms: number) => { cancel(): void };
}

interface ReasonState {
  logged: number;
  suppressed: number;
  level: RefusalLevel;
}

const SEVERITY: Record<RefusalLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const OTHER = 'other';

function defaultSchedule(fn: () => void, ms: number): { cancel(): void } {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

export class RateLimitedLog {
  readonly burst: number;
  readonly windowMs: number;
  private readonly maxReasons: number;
  private readonly now: () => number;
  private readonly schedule: NonNullable<RateLimitedLogOptions['schedule']>;
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly reasons = new Map<string, ReasonState>();
  private pending: { cancel(): void } | undefined;

  constructor(private readonly log: Logger, opts: RateLimitedLogOptions = {}) {
    this.burst = opts.burst ?? 10;
    this.windowMs = opts.windowMs ?? 5000;
    this.maxReasons = opts.maxReasons ?? 64;
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  /** Security refusals (bad certificates, failed handshakes, attestation): operators must see them. */
  warn(reason: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('warn', reason, fields, message);
  }

  /** Expected refusals (policy denials): normal traffic, not an alarm. */
  info(reason: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('info', reason, fields, message);
  }

  debug(reason: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('debug', reason, fields, message);
  }

  /** Logs one refusal unless its reason's budget for this window is spent; returns whether it was logged. */
  write(level: RefusalLevel, reason: string, fields: Record<string, unknown>, message: string): boolean {
    // A line the logger would drop anyway must not spend the budget.
    if (!this.log.isLevelEnabled(level)) return false;
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = t;
    }
    const state = this.stateFor(reason, level);
    if (SEVERITY[level] > SEVERITY[state.level]) state.level = level;
    if (state.logged >= this.burst) {
      state.suppressed++;
      // The summary is due at the end of this window even if no refusal comes after the flood.
      this.pending ??= this.schedule(() => {
        this.pending = undefined;
        this.flush();
      }, Math.max(0, this.windowStart + this.windowMs - t));
      return false;
    }
    state.logged++;
    // `refusal` is the budget's key; callers keep `reason` for the detailed text.
    this.log[level]({ ...fields, refusal: reason }, message);
    return true;
  }

  /** Ends the window: one line with the suppressed count per reason (if any); called on shutdown too. */
  flush(): void {
    this.pending?.cancel();
    this.pending = undefined;
    const suppressed: Record<string, number> = {};
    let total = 0;
    let level: RefusalLevel = 'debug';
    for (const [reason, s] of this.reasons) {
      if (s.suppressed === 0) continue;
      suppressed[reason] = s.suppressed;
      total += s.suppressed;
      if (SEVERITY[s.level] > SEVERITY[level]) level = s.level;
    }
    this.reasons.clear();
    this.windowStart = Number.NEGATIVE_INFINITY;
    if (total === 0) return;
    this.log[level](
      { suppressed, windowMs: this.windowMs, burstPerReason: this.burst },
      `${total} more refusals not logged in the last window (${Object.entries(suppressed).map(([r, n]) => `${r}: ${n}`).join(', ')})`,
    );
  }

  private stateFor(reason: string, level: RefusalLevel): ReasonState {
    let s = this.reasons.get(reason);
    if (s) return s;
    // Reasons are meant to be a fixed set; a caller passing free text must not grow the map without bound.
    const key = this.reasons.size < this.maxReasons ? reason : OTHER;
    s = this.reasons.get(key);
    if (!s) {
      s = { logged: 0, suppressed: 0, level };
      this.reasons.set(key, s);
    }
    return s;
  }
}
