// Shares reads of one file among concurrent callers, so a burst of new
// connections costs one read of /proc/net/tcp rather than one each (the
// kernel walks every socket of the host, TIME_WAIT included, for each read).
import { readFile } from 'node:fs/promises';

export class CoalescedRead {
  private inFlight: Promise<string> | undefined;
  private queued: Promise<string> | undefined;

  constructor(private readonly path: string, private readonly read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8')) {}

  /**
   * Text read entirely after this call began: a caller's socket, accepted
   * before it asked, is in it. Callers that arrive during a read share the
   * next one; a read is never joined half-way.
   */
  get(): Promise<string> {
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<string> {
    const p = this.read(this.path).finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }
}
