// Circuit breaker for one destination (Envoy's thresholds): caps the calls in
// flight to it and the calls waiting for a connection to it, so a slow or dead
// destination holds a bounded share of the agent instead of all its memory.
import { once, type Release } from '../../../../core/keyed-counts.js';

export interface BreakerOptions {
  /** Calls admitted at once. */
  readonly maxRequests: number;
  /** Calls waiting at once for a session to connect (or a stream slot). */
  readonly maxPending: number;
}


export type Admission =
  | { kind: 'ok'; release: Release }
  | { kind: 'refuse'; code: 'breaker_open' | 'pending_limit'; reason: string };

/**
 * One instance per destination, owned beside its balancer, so there is no key
 * to look up (src/core/keyed-counts.ts is for many keys in one map). The two
 * counts are independent, as in Envoy: a call waiting for its session holds a
 * pending slot until it connects; take the request slot first so a call is
 * refused before it queues.
 */
export class CircuitBreaker {
  private requests = 0;
  private waiting = 0;

  constructor(private readonly destination: string, private readonly options: BreakerOptions) {}

  /** A slot for one call in flight, or why not. */
  tryAcquire(): Admission {
    if (this.requests >= this.options.maxRequests) {
      return this.refuse('breaker_open', `${this.requests} calls in flight, the limit (maxRequests) is ${this.options.maxRequests}`);
    }
    this.requests += 1;
    return { kind: 'ok', release: once(() => void (this.requests -= 1)) };
  }

  /** A slot for one call waiting on a session to connect, or why not. */
  pending(): Admission {
    if (this.waiting >= this.options.maxPending) {
      return this.refuse('pending_limit', `${this.waiting} calls wait for a connection, the limit (maxPending) is ${this.options.maxPending}`);
    }
    this.waiting += 1;
    return { kind: 'ok', release: once(() => void (this.waiting -= 1)) };
  }

  /** Current use, for gauges. */
  inUse(): { requests: number; pending: number } {
    return { requests: this.requests, pending: this.waiting };
  }

  private refuse(code: 'breaker_open' | 'pending_limit', what: string): Admission {
    return { kind: 'refuse', code, reason: `destination ${this.destination}: ${what}; it is slow or failing, or raise the limit` };
  }
}

