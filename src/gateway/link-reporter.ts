// Sends the gateway's link probe results to its controller: soon after a
// reachability change (so failover does not wait for a period) and every
// REPORT_EVERY_MS anyway (the controller forgets a gateway's report that is
// older than three periods: a gateway that died says nothing). One request at
// a time; a change during a request is sent right after it.
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { LinkStatus } from './link-prober.js';

export const REPORT_EVERY_MS = 2000;
/** Changes that come together (several links cut at once) go in one report. */
const CHANGE_BATCH_MS = 50;

export interface LinkReporterOptions {
  readonly post: (body: { links: LinkStatus[] }) => Promise<{ status: number }>;
  readonly log: Logger;
  readonly everyMs?: number;
}

export class LinkReporter {
  source: () => LinkStatus[] = () => [];
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private sending = false;
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(private readonly opts: LinkReporterOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.send(), this.opts.everyMs ?? REPORT_EVERY_MS);
    this.timer.unref();
    void this.send();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  changed(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.send();
    }, CHANGE_BATCH_MS);
  }

  private async send(): Promise<void> {
    if (this.stopped) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = true;
    try {
      const r = await this.opts.post({ links: this.source() });
      if (r.status !== 200) throw new Error(`controller answered HTTP ${r.status}`);
      if (this.failing) this.opts.log.info('link reports reach the controller again');
      this.failing = false;
    } catch (err) {
      // Said once per outage, not every period: the config stream's own warning says the controller is gone.
      if (!this.failing) this.opts.log.warn({ err: describeError(err) }, 'cannot report link probes to the controller; will retry');
      this.failing = true;
    } finally {
      this.sending = false;
    }
    if (this.again) {
      this.again = false;
      void this.send();
    }
  }
}
