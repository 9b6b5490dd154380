// Rate-limited warnings for refused peers and callers: a flood of bad clients
// costs at most `burst` lines per window, then one line saying how many were
// suppressed, so logs stay readable and cheap under attack.
import type { Logger } from '../../core/log.js';

export interface RefusalLogOptions {
  readonly burst?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
}

export class RefusalLog {
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private logged = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, opts: RefusalLogOptions = {}) {
    this.burst = opts.burst ?? 10;
    this.windowMs = opts.windowMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  /** Logs a warning unless this window's budget is spent; returns whether it was logged. */
  warn(fields: Record<string, unknown>, message: string): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed, windowMs: this.windowMs }, 'further refusals were not logged');
      this.windowStart = t;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged >= this.burst) {
      this.suppressed++;
      return false;
    }
    this.logged++;
    this.log.warn(fields, message);
    return true;
  }
}
