// Retry budget (Finagle's RetryBudget, linkerd's retryBudget): retries may add
// at most `ratio` of the recent request rate plus a small floor, so retries
// cannot multiply the load on a destination that is already failing.

export interface RetryBudgetOptions {
  /** Retries allowed per original request in the window. */
  readonly ratio: number;
  /** Retries allowed per second regardless of traffic, so a quiet caller can still retry. */
  readonly minPerSecond: number;
  /** How far back requests and retries count, ms. */
  readonly windowMs: number;
}


/** Buckets per window: the window slides in steps of windowMs / BUCKETS. */
const BUCKETS = 10;

/**
 * Allowed retries in the window = ratio * requests + minPerSecond * window
 * seconds, minus retries already made in it. O(1) per call (at most BUCKETS
 * buckets to clear), memory fixed at BUCKETS pairs of counters.
 */
export class RetryBudget {
  private readonly bucketMs: number;
  private readonly reserve: number;
  private readonly deposits = new Array<number>(BUCKETS).fill(0);
  private readonly withdrawals = new Array<number>(BUCKETS).fill(0);
  private depositSum = 0;
  private withdrawalSum = 0;
  /** Index (time / bucketMs) of the newest bucket; older ones are its predecessors in the ring. */
  private head: number | undefined;

  constructor(private readonly options: RetryBudgetOptions) {
    this.bucketMs = options.windowMs / BUCKETS;
    this.reserve = (options.minPerSecond * options.windowMs) / 1000;
  }

  /** One original request (not a retry): earns `ratio` of a retry. */
  deposit(now: number): void {
    const i = this.advance(now);
    this.deposits[i]! += 1;
    this.depositSum += 1;
  }

  /** Takes one retry from the budget if there is one left; false means do not retry. */
  tryWithdraw(now: number): boolean {
    const i = this.advance(now);
    if (this.withdrawalSum + 1 > this.options.ratio * this.depositSum + this.reserve) return false;
    this.withdrawals[i]! += 1;
    this.withdrawalSum += 1;
    return true;
  }

  /** Retries left at `now`, for diagnostics and metrics. */
  available(now: number): number {
    this.advance(now);
    return Math.max(0, Math.floor(this.options.ratio * this.depositSum + this.reserve - this.withdrawalSum));
  }

  /** Moves the window to `now`, clearing buckets that fell out; returns the slot of now's bucket. */
  private advance(now: number): number {
    const index = Math.floor(now / this.bucketMs);
    if (this.head === undefined) this.head = index;
    // A clock that steps back counts into the newest bucket.
    const steps = Math.min(Math.max(0, index - this.head), BUCKETS);
    for (let k = 1; k <= steps; k++) {
      const slot = mod(this.head + k, BUCKETS);
      this.depositSum -= this.deposits[slot]!;
      this.withdrawalSum -= this.withdrawals[slot]!;
      this.deposits[slot] = 0;
      this.withdrawals[slot] = 0;
    }
    this.head = Math.max(this.head, index);
    return mod(this.head, BUCKETS);
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
