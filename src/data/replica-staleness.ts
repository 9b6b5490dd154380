// How stale a replica's view can be, as an upper bound from what is known
// about it and about the primary (docs/data-routing.md "Lag"). Pure.
//
// Two bounds, each valid on its own, the smaller one wins:
// - the replica has replayed a transaction committed at T: it has everything
//   up to T, so it is at most `now - T` behind. This one needs no primary, but
//   it grows while the primary is idle (nothing new is committed);
// - the replica has replayed at least the position the primary had at time
//   Tp: it has everything up to Tp, so it is at most `now - Tp` behind. This
//   one covers an idle primary, and needs the primary's position: probed here,
//   or published in its region's state (then Tp is as old as that state).
// A replica behind the primary's known position, or holding WAL it has
// received but not replayed (replay paused or slow), gets only the first bound.

export interface ReplicaPositionFacts {
  /** Position replayed. */
  readonly replayed: bigint;
  /** Position received (PostgreSQL's WAL receiver); more than replayed means it is behind what it holds. */
  readonly received?: bigint | null;
  /** Commit time (epoch ms, the primary's clock) of the last transaction replayed; null when none since it started. */
  readonly replayedCommitAt?: number | null;
  /** Lag as the member itself reports it (an HTTP data service), seconds. */
  readonly reportedLagSeconds?: number;
}

export interface PrimaryReference {
  readonly position: bigint;
  /** When that position was read, epoch ms. */
  readonly at: number;
}

export interface Staleness {
  /** Upper bound, seconds; Infinity when nothing bounds it. */
  readonly seconds: number;
  /** Bytes (positions) behind the primary's known position; undefined without one. */
  readonly behind?: number;
}

export function replicaStaleness(replica: ReplicaPositionFacts, primary: PrimaryReference | undefined, now: number): Staleness {
  let seconds = Number.POSITIVE_INFINITY;
  // The commit time is the primary's clock and now is ours: a primary clock ahead of ours must not make it negative.
  if (replica.replayedCommitAt !== undefined && replica.replayedCommitAt !== null) seconds = Math.max(0, (now - replica.replayedCommitAt) / 1000);
  if (replica.reportedLagSeconds !== undefined) seconds = Math.min(seconds, replica.reportedLagSeconds);
  if (!primary) return { seconds };
  const behind = primary.position - replica.replayed;
  const heldBack = replica.received !== undefined && replica.received !== null && replica.received > replica.replayed;
  if (behind <= 0n) return { seconds: heldBack ? seconds : Math.min(seconds, Math.max(0, (now - primary.at) / 1000)), behind: 0 };
  return { seconds, behind: Number(behind) };
}

/**
 * Within the bound, with hysteresis: a judgement flips only when two probes
 * in a row say so, because one probe can catch a replica a few milliseconds
 * before it replays (docs/data-routing.md). A member that cannot be probed is
 * out at once: it cannot serve.
 */
export class BoundJudge {
  private judged: boolean | undefined;
  private against = 0;

  /** `within`: this probe's raw verdict; `reachable`: false when the probe failed or is stale. */
  next(within: boolean, reachable: boolean): boolean {
    if (!reachable) {
      this.judged = false;
      this.against = 0;
      return false;
    }
    if (this.judged === undefined || within === this.judged) {
      this.judged ??= within;
      this.against = 0;
      return this.judged;
    }
    if (++this.against >= 2) {
      this.judged = within;
      this.against = 0;
    }
    return this.judged;
  }
}
