// What every data plane layer shares: the current snapshot (swapped whole,
// never mutated), credentials, logging, metrics and the flow sink. Passed in,
// never global, so two data planes can live in one process (tests, bench).
import type { Tracing } from './observe/tracing.js';
import type { Logger } from '../../core/log.js';
import type { CredentialProvider, DataplaneSnapshot } from './dataplane-snapshot.js';
import type { DataplaneMetrics } from './observe/dataplane-metrics.js';
import type { ConnectionAttestations } from '../attest/connection-attestations.js';
import type { WorkloadBulkhead } from './inbound/workload-bulkhead.js';
import type { RateLimitedLog } from '../../core/rate-limited-log.js';
import type { DataplaneTag } from './observe/flow-events.js';

export interface SnapshotHolder {
  current: DataplaneSnapshot;
}

export interface DataplaneTuning {
  /** TCP/TLS connect budget towards a peer agent or a local app. */
  readonly connectTimeoutMs: number;
  /** A pooled session with no stream for this long is closed (checked every keepaliveMs). */
  readonly idleSessionMs: number;
  /** Interval of HTTP/2 PINGs on pooled sessions; an unanswered one drops the session. 0 disables pings and idle reaping. */
  readonly keepaliveMs: number;
  /**
   * While a pooled session carries streams, a PING every this many ms (one
   * outstanding at a time): when gateway probes say its path is cut, a
   * session whose ping has gone unanswered past the bound is closed at once
   * instead of being pinged again. 0 disables.
   */
  readonly busyPingMs: number;
  /** HTTP/2 per-stream receive window (initial window size setting). */
  readonly streamWindowBytes: number;
  /** HTTP/2 connection-level receive window. */
  readonly sessionWindowBytes: number;
  /** A peer must finish the mTLS handshake on the inbound port within this time (Node's default is 120 s). */
  readonly handshakeTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise; the pool opens another session when a peer's limit is reached. */
  readonly maxStreamsPerSession: number;
  /** Concurrent app connections (L4 streams and L7 requests) per destination workload at the inbound agent. */
  readonly maxConnectionsPerWorkload: number;
}

export const DEFAULT_TUNING: DataplaneTuning = {
  connectTimeoutMs: 5000,
  idleSessionMs: 300_000,
  keepaliveMs: 15_000,
  busyPingMs: 200,
  streamWindowBytes: 4 << 20,
  sessionWindowBytes: 64 << 20,
  handshakeTimeoutMs: 10_000,
  maxStreamsPerSession: 100,
  maxConnectionsPerWorkload: 1024,
};

export interface AttestationOptions {
  /** Refuse callers whose Workload declares no attest selectors (agent key attestation.requireSelectors). */
  readonly requireSelectors: boolean;
}

export interface DataplaneContext {
  readonly state: SnapshotHolder;
  readonly credentials: CredentialProvider;
  readonly log: Logger;
  readonly refusals: RateLimitedLog;
  readonly metrics: DataplaneMetrics;
  readonly tuning: DataplaneTuning;
  /** Concurrent app connections per destination workload, shared by L4 and L7. */
  readonly bulkhead: WorkloadBulkhead;
  readonly now: () => number;
  /** Who owns each app connection, looked up once per connection. */
  readonly attestations: ConnectionAttestations;
  readonly attestation: AttestationOptions;
  /** Names this data plane in the flow events it publishes. */
  readonly tag: DataplaneTag;
  /** Spans for proxied HTTP requests; undefined: traceparent passes through untouched. */
  readonly tracing?: Tracing;
}

/**
 * HTTP/2 settings both ends use: big windows so throughput is not window-bound,
 * no push, and a stream cap (nghttp2 answers streams over it with REFUSED_STREAM
 * before the peer acknowledged it, and ends the session of a peer that ignores it after).
 */
export function h2Settings(t: DataplaneTuning): { initialWindowSize: number; enablePush: boolean; maxConcurrentStreams: number } {
  return { initialWindowSize: t.streamWindowBytes, enablePush: false, maxConcurrentStreams: t.maxStreamsPerSession };
}

/** Header values travel on the wire: keep them printable and short. */
export function headerSafe(text: string, max = 300): string {
  const clean = text.replace(/[^\x20-\x7e]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
