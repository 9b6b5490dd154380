// Keeps this region's published state signed: a new signature when the state
// changes, and a fresh one every resign interval even when nothing changed,
// because peers (and peers of peers, through relays) measure a state's age
// from its signing time — a relay can delay a state but never make it look newer.
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { RegionState } from '../mesh/mesh-config.js';

export interface StateSignerOptions {
  readonly current: () => RegionState;
  /** Signs a state (signRegionState with the region CA). */
  readonly sign: (s: RegionState) => Promise<string>;
  readonly resignIntervalMs: number;
  readonly log: Logger;
  /** Called with every new signature that became latest(): the controller feeds it to the peers' change feed. */
  readonly onSigned?: (jws: string) => void;
}

export class StateSigner {
  private latestJws: string | undefined;
  private signedVersion = -1;
  private signedAt = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: StateSignerOptions) {}

  /** The newest signed state; undefined until the first signature is done. */
  latest(): string | undefined {
    return this.latestJws;
  }

  /** Signs now, then keeps signing; resolves after the first signature. */
  async start(): Promise<void> {
    await this.changed();
    this.timer = setInterval(() => {
      if (Date.now() - this.signedAt >= this.opts.resignIntervalMs) void this.changed();
    }, Math.max(250, Math.floor(this.opts.resignIntervalMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** The state changed (or its signature is due): sign the current one; calls while signing coalesce into one more. */
  changed(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      if (this.stopped) return;
      const state = this.opts.current();
      try {
        const jws = await this.opts.sign(state);
        // Never replace a newer version's signature with an older one's (a slow signing that lost a race).
        if (state.version >= this.signedVersion) {
          this.latestJws = jws;
          this.signedVersion = state.version;
          this.signedAt = Date.now();
          this.opts.onSigned?.(jws);
        }
      } catch (err) {
        this.opts.log.error({ err: describeError(err) }, 'region state could not be signed; peers keep the previous one');
      }
    } while (this.again);
  }
}
