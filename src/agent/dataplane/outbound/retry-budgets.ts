// Retry budgets per destination service: retries may add at most `ratio` of
// the requests of the last window plus a floor per second, so retries cannot
// multiply load on a destination that is already failing (Finagle, Linkerd).
export interface RetryBudget {
  /** Counts one original request. */
  deposit(): void;
  /** Whether a retry would be allowed now, without taking it. */
  canWithdraw(): boolean;
  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean;
}

export interface BudgetOptions {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
}

const BUCKETS = 10;

/** Time-bucketed counts over the window: O(1) per call, bounded memory. */
export class WindowBudget implements RetryBudget {
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private bucket = 0;
  private bucketStart: number;

  constructor(private readonly opts: BudgetOptions, private readonly now: () => number) {
    this.bucketStart = now();
  }

  private roll(): void {
    const width = this.opts.windowMs / BUCKETS;
    const t = this.now();
    let steps = Math.floor((t - this.bucketStart) / width);
    if (steps <= 0) return;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.requests[this.bucket] = 0;
      this.retries[this.bucket] = 0;
    }
    this.bucketStart = t - ((t - this.bucketStart) % width);
  }

  deposit(): void {
    this.roll();
    this.requests[this.bucket]!++;
  }

  canWithdraw(): boolean {
    this.roll();
    const requests = this.requests.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    const allowed = this.opts.ratio * requests + (this.opts.minPerSecond * this.opts.windowMs) / 1000;
    return retries < allowed;
  }

  tryWithdraw(): boolean {
    if (!this.canWithdraw()) return false;
    this.retries[this.bucket]!++;
    return true;
  }
}

export class RetryBudgets {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(private readonly opts: BudgetOptions, private readonly now: () => number) {}

  /** The budget of one destination service (bounded by the number of services in the snapshot). */
  for(service: string): RetryBudget {
    let b = this.budgets.get(service);
    if (!b) {
      b = new WindowBudget(this.opts, this.now);
      this.budgets.set(service, b);
    }
    return b;
  }
}
