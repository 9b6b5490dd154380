// Adaptive sampling of the agent's spans, so tracing cannot take a node down
// under load:
// - a request that arrives with a sampled traceparent is recorded (the
//   caller decided), up to `maxSpansPerSecond`; past it spans are dropped
//   and counted, but the traceparent still says sampled, so the rest of the
//   trace is kept by the hops that can;
// - a request without one starts a trace, sampled while the root budget
//   (`rootsPerSecond`, a token bucket) lasts: at low load every root is
//   kept, under load the rate of sampled roots stays flat whatever the
//   request rate;
// - while the export queue on disk is more than `backoffAbove` full (the
//   collector unreachable for long), the root budget drops to a tenth, so
//   a long outage fills the disk ten times slower.

export interface SamplingOptions {
  readonly rootsPerSecond: number;
  readonly maxSpansPerSecond: number;
  /** Share of the queue bound, 0-1. */
  readonly backoffAbove: number;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perSecond: () => number,
    private readonly now: () => number,
  ) {
    this.tokens = perSecond();
    this.last = now();
  }
  take(): boolean {
    const t = this.now();
    const rate = this.perSecond();
    // At most one second's worth banked: a quiet minute does not buy a burst of a minute's spans.
    this.tokens = Math.min(rate, this.tokens + ((t - this.last) / 1000) * rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class AdaptiveSampler {
  private readonly roots: TokenBucket;
  private readonly spans: TokenBucket;

  constructor(
    private readonly o: SamplingOptions,
    /** How full the export queue is, 0-1. */
    private readonly queueFill: () => number,
    now: () => number = Date.now,
  ) {
    this.roots = new TokenBucket(() => (this.queueFill() > o.backoffAbove ? o.rootsPerSecond / 10 : o.rootsPerSecond), now);
    this.spans = new TokenBucket(() => o.maxSpansPerSecond, now);
  }

  /** Whether a new trace (a request with no valid traceparent) is sampled. */
  sampleRoot(): boolean {
    return this.roots.take();
  }

  /** Whether a sampled span may be recorded now. */
  admit(): boolean {
    return this.spans.take();
  }
}
