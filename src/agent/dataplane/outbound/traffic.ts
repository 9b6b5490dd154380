// The client-side traffic settings the outbound layers read for one call
// (timeouts, retries). A TrafficPolicy resource compiles into these; with
// none, the defaults below apply.
export type RetryOn = 'connect-failure' | 'refused-stream' | 'reset' | 'unavailable' | 'gateway-error' | '5xx';

export interface OutboundTraffic {
  /** Whole HTTP call through the proxy port, retries included; 0: none. */
  readonly requestTimeoutMs: number;
  /** No bytes either way on a byte stream for this long closes it; 0: never. */
  readonly idleTimeoutMs: number;
  readonly retry: {
    /** Extra attempts after the first for HTTP requests (connection failover is separate, see retry.ts). */
    readonly attempts: number;
    readonly perTryTimeoutMs: number;
    readonly retryOn: ReadonlySet<RetryOn>;
    /** Non-idempotent requests a route marks retryable. */
    isRetryable(method: string, path: string): boolean;
    readonly backoff: { readonly baseMs: number; readonly maxMs: number };
    readonly budget: { readonly ratio: number; readonly minPerSecond: number; readonly windowMs: number };
  };
}

export const DEFAULT_OUTBOUND_TRAFFIC: OutboundTraffic = {
  requestTimeoutMs: 0,
  idleTimeoutMs: 0,
  retry: {
    attempts: 2,
    perTryTimeoutMs: 0,
    retryOn: new Set<RetryOn>(['connect-failure', 'refused-stream', 'reset', 'unavailable']),
    isRetryable: () => false,
    backoff: { baseMs: 25, maxMs: 250 },
    budget: { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 },
  },
};
