// A change feed of the signed region states this controller serves: every
// change gets the next sequence number, so a peer that remembers the cursor of
// its last answer is sent only what changed since (a delta pull), not all N.
// The epoch names one process lifetime: sequence numbers restart with it, so a
// cursor of another epoch means nothing here and is answered in full.
import { randomBytes } from 'node:crypto';

/** What an epoch looks like on the wire (ours are 16 base64url characters; room to spare for other versions). */
export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface FeedAnswer {
  /** Compact JWS states changed after the cursor asked for (all of them for a full answer). */
  readonly states: string[];
  /** The sequence this answer is complete up to: the `since` of the next pull. */
  readonly cursor: number;
  readonly epoch: string;
}

interface Entry {
  readonly jws: string;
  /** The sequence number at which this region's state last changed. */
  readonly seq: number;
}

export class StateFeed {
  /** Random per process start: a restarted server can never be mistaken for the one a cursor came from. */
  readonly epoch: string;
  private seq = 0;
  private readonly entries = new Map<string, Entry>();

  constructor(epoch: string = randomBytes(12).toString('base64url')) {
    this.epoch = epoch;
  }

  /** The sequence of the newest change (0 while empty). */
  get cursor(): number {
    return this.seq;
  }

  /** Records `region`'s current state; the same JWS again is not a change and does not move the cursor. */
  put(region: string, jws: string): void {
    if (this.entries.get(region)?.jws === jws) return;
    // Deleted and re-set so a delta lists the changes in the order they happened.
    this.entries.delete(region);
    this.entries.set(region, { jws, seq: ++this.seq });
  }

  /**
   * The states changed after `cursor` when it is a cursor of this epoch; every
   * state otherwise (no cursor, another epoch, or a cursor we never handed out),
   * so a confused client falls back to a full answer, never to a gap.
   * `first` (our own region, when cheap) leads a full answer.
   */
  since(cursor: number | undefined, epoch: string | undefined, first?: string): FeedAnswer {
    const full = epoch !== this.epoch || cursor === undefined || !Number.isSafeInteger(cursor) || cursor < 0 || cursor > this.seq;
    if (full) {
      const lead = first !== undefined ? this.entries.get(first) : undefined;
      const states = lead ? [lead.jws] : [];
      for (const [region, e] of this.entries) if (region !== first) states.push(e.jws);
      return { states, cursor: this.seq, epoch: this.epoch };
    }
    // One integer compare per region: nothing is parsed or verified for a state that did not change.
    const changed: string[] = [];
    for (const e of this.entries.values()) if (e.seq > cursor) changed.push(e.jws);
    return { states: changed, cursor: this.seq, epoch: this.epoch };
  }
}
