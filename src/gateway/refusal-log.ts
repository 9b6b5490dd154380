// Rate-limited logging of refused connections: a flood of bad clients costs at
// most `perSecond` lines a second plus one line saying how many were suppressed.
import type { Logger } from '../core/log.js';

export interface RefusalLogOptions {
  readonly perSecond?: number;
  /** Milliseconds clock; injectable for tests. */
  readonly now?: () => number;
}

export class RefusalLog {
  private readonly perSecond: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private logged = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, opts: RefusalLogOptions = {}) {
    this.perSecond = opts.perSecond ?? 20;
    this.now = opts.now ?? Date.now;
  }

  refused(fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.flush();
      this.windowStart = t;
      this.logged = 0;
    }
    if (this.logged < this.perSecond) {
      this.logged++;
      this.log.warn(fields, message);
    } else {
      this.suppressed++;
    }
  }

  /** Reports refusals that were counted but not logged; called on each new window and on shutdown. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn({ suppressed: this.suppressed }, `${this.suppressed} more refused connections not logged (rate limit ${this.perSecond}/s)`);
    this.suppressed = 0;
  }
}
