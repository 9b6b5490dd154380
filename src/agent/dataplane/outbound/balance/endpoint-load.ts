// Live load of one endpoint for the balancer: calls in flight and a peak-EWMA
// latency estimate (Finagle's and linkerd's PeakEwma), on an injected clock.
// cost(now) = latency estimate * (inFlight + 1) is what P2C compares.

export interface LoadOptions {
  /** Time constant tau of the estimate, ms: how fast old samples stop counting. */
  readonly decayMs: number;
  /** Estimate of an endpoint that has no sample yet and nothing to copy it from, ms. */
  readonly defaultLatencyMs: number;
}

export const DEFAULT_LOAD: LoadOptions = {
  // 10 s, as Finagle and linkerd: long enough to smooth per-request noise,
  // short enough that an endpoint slow a minute ago is re-probed.
  decayMs: 10_000,
  // 1 ms, only used when nothing is known (a cold start: every endpoint is
  // new, so they start equal). Low on purpose: a real sample above it is a peak
  // that replaces it at once, and an endpoint not yet sampled looks cheap, so
  // each gets tried early; the (inFlight + 1) factor and the age of its calls
  // in flight stop a cheap-looking one from taking many calls before it has
  // answered. The balancer seeds an endpoint that joins a running set with the
  // median of the others' estimates instead (balancer.ts).
  defaultLatencyMs: 1,
};

/** Ends one call; calling it again does nothing. */
export interface LoadHandle {
  end(now: number, ok: boolean): void;
}

/** Below this the estimate means nothing on a network; the floor keeps inFlight counting in cost(). */
const FLOOR_MS = 0.001;

export class EndpointLoad {
  private estimateMs: number;
  private updatedAt: number;
  private sampled = false;
  private active = 0;
  /** Sum of the start times of calls in flight, relative to `origin` (keeps the sum exact). */
  private startSum = 0;
  private readonly origin: number;

  /** `seedMs`: the estimate until the first sample (default: options.defaultLatencyMs). */
  constructor(private readonly options: LoadOptions, now: number, seedMs: number = options.defaultLatencyMs) {
    this.estimateMs = seedMs;
    this.updatedAt = now;
    this.origin = now;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Whether any call has ended on this endpoint: a balancer seeds new endpoints from sampled ones only. */
  get hasSamples(): boolean {
    return this.sampled;
  }

  /**
   * The estimate at `now`. Between samples it decays towards zero with tau, so
   * an endpoint judged slow long ago looks cheap again and gets re-measured
   * instead of being starved on an old sample. It is never below the mean age
   * of the calls in flight: an endpoint that stops answering (or a new one that
   * has not answered yet) looks slower as its calls wait, before any of them
   * ends. Healthy calls in flight are on average younger than their latency,
   * so this does not inflate a healthy endpoint. Pure: reading changes nothing.
   */
  latencyMs(now: number): number {
    const decayed = this.estimateMs * this.decayFactor(now);
    if (this.active === 0) return decayed;
    return Math.max(decayed, now - this.origin - this.startSum / this.active);
  }

  /** What P2C compares: latency times the queue a new call would join. */
  cost(now: number): number {
    return Math.max(this.latencyMs(now), FLOOR_MS) * (this.active + 1);
  }

  /** Counts a call in flight; its handle's end() records its latency (from start to end) once. */
  start(now: number): LoadHandle {
    this.active += 1;
    this.startSum += now - this.origin;
    let ended = false;
    return {
      end: (endNow: number, ok: boolean) => {
        if (ended) return;
        ended = true;
        this.active -= 1;
        // Back to idle: reset so float drift of fractional clocks cannot build up.
        this.startSum = this.active === 0 ? 0 : this.startSum - (now - this.origin);
        this.observe(Math.max(0, endNow - now), endNow, ok);
      },
    };
  }

  /**
   * Peak EWMA: a sample above the (decayed) estimate replaces it at once, so
   * one slow answer diverts traffic now; a sample below pulls it down by the
   * time-weighted factor 1 - e^(-dt/tau), so the rate of calls does not change
   * how fast it forgives. A failure only ever raises the estimate: a dead
   * endpoint refusing in microseconds must not look fast and attract every
   * call (outlier ejection deals with failing endpoints).
   */
  private observe(sampleMs: number, now: number, ok: boolean): void {
    // The stored estimate only: the in-flight age term is derived at read time.
    const w = this.decayFactor(now);
    const decayed = this.estimateMs * w;
    if (sampleMs >= decayed) this.estimateMs = sampleMs;
    else this.estimateMs = ok ? decayed * w + sampleMs * (1 - w) : decayed;
    this.updatedAt = Math.max(this.updatedAt, now);
    this.sampled = true;
  }

  private decayFactor(now: number): number {
    const dt = now - this.updatedAt;
    return dt <= 0 ? 1 : Math.exp(-dt / this.options.decayMs);
  }
}
