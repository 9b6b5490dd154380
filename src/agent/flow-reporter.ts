// Sends the agent's flow records to its region's controller, which keeps a
// region-wide history for `entente flows` and the dashboard (docs/observability.md
// "Flows"). The data path only appends to a bounded buffer; a timer sends one
// batch at a time. While the controller cannot be reached the buffer keeps the
// newest records and drops the oldest, counted.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { FlowRecord } from './dataplane/observe/flow-record.js';

export const FLOW_REPORT_EVERY_MS = 1000;
export const FLOW_BUFFER = 5000;
/** Records per request; the controller takes at most this many from one batch. */
export const FLOW_BATCH_MAX = 1000;

export interface FlowReporterOptions {
  readonly post: (body: { flows: FlowRecord[] }) => Promise<{ status: number }>;
  readonly log: Logger;
  readonly registry: Registry;
  readonly everyMs?: number;
  readonly bufferSize?: number;
}

export class FlowReporter {
  private buffer: FlowRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private failing = false;
  private readonly dropped: Counter;
  private readonly sent: Counter;
  private readonly bufferSize: number;

  constructor(private readonly opts: FlowReporterOptions) {
    this.bufferSize = opts.bufferSize ?? FLOW_BUFFER;
    this.dropped = new Counter({ name: 'entente_agent_flow_reports_dropped_total', help: 'Flow records dropped before reaching the controller (buffer full while it was unreachable)', registers: [opts.registry] });
    this.sent = new Counter({ name: 'entente_agent_flow_reports_sent_total', help: 'Flow records the controller accepted', registers: [opts.registry] });
  }

  /** On the data path: one push, and a slice only when the buffer is full. */
  add(f: FlowRecord): void {
    if (this.buffer.length >= this.bufferSize) {
      const over = this.buffer.length - this.bufferSize + 1;
      this.buffer = this.buffer.slice(over);
      this.dropped.inc(over);
    }
    this.buffer.push(f);
  }

  start(): void {
    this.timer = setInterval(() => void this.send(), this.opts.everyMs ?? FLOW_REPORT_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async send(): Promise<void> {
    if (this.sending || this.buffer.length === 0) return;
    this.sending = true;
    const batch = this.buffer.slice(0, FLOW_BATCH_MAX);
    try {
      const r = await this.opts.post({ flows: batch });
      if (r.status !== 200) throw new Error(`controller answered HTTP ${r.status}`);
      // The batch was the buffer's head; since then records were only appended, or dropped from the head.
      // What is left of the batch is still the head, ending at its last record (if that was not dropped too).
      const last = this.buffer.indexOf(batch[batch.length - 1]!);
      if (last >= 0) this.buffer.splice(0, last + 1);
      this.sent.inc(batch.length);
      if (this.failing) this.opts.log.info('flow reports reach the controller again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.opts.log.info({ err: describeError(err), buffered: this.buffer.length }, 'flow reports cannot reach the controller; keeping the newest in a buffer');
      this.failing = true;
    } finally {
      this.sending = false;
    }
  }
}
