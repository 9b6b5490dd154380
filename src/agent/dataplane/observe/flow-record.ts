// One record per stream (L4) or per request (L7): who called whom, what was
// decided and why, how many bytes and how long. Records go to an optional
// callback; when nobody listens, nothing is built.
import type { Logger } from '../../../core/log.js';
import { describeError } from '../../../core/errors.js';
import type { SpiffeId } from '../../../identity/spiffe-id.js';

export type FlowVerdict = 'allow' | 'deny' | 'error';

export interface FlowRecord {
  /** Start of the stream or request, epoch milliseconds. */
  readonly time: number;
  readonly direction: 'inbound' | 'outbound';
  /** The caller; absent when the caller could not be identified (see sourceAddress). */
  readonly source?: SpiffeId;
  /** The caller's socket address when it was refused as a caller (no workload has it, or its process does not match). */
  readonly sourceAddress?: string;
  /** Inbound: the socket address of the peer agent (or gateway) the stream came from. */
  readonly peerAddress?: string;
  /**
   * Outbound: true when the caller's process was checked against its
   * Workload's attest selectors and matched; false when it was identified by
   * its address only (the Workload declares none) or failed attestation.
   */
  readonly attested?: boolean;
  /** The callee; absent when no endpoint was chosen. */
  readonly destination?: SpiffeId;
  /** "namespace/name" of the destination service. */
  readonly service?: string;
  readonly port?: number;
  readonly sourceRegion?: string;
  readonly destinationRegion?: string;
  /** Zone of the caller's workload (outbound) and of the destination workload (Workload spec.zone), when declared. */
  readonly sourceZone?: string;
  readonly destinationZone?: string;
  /** Outbound: the regions the stream crossed, e.g. "eu>ap" direct, "eu>us>ap" relayed through us, "eu" within the region. */
  readonly regionPath?: string;
  readonly verdict: FlowVerdict;
  readonly policy?: string;
  readonly rule?: number;
  readonly reason?: string;
  readonly method?: string;
  readonly path?: string;
  /** CONNECT status (L4) or HTTP response status (L7; 101 for a WebSocket). */
  readonly status?: number;
  /** gRPC calls (L7): the call's grpc-status, the app's or the agent's own when it refused or failed the call. */
  readonly grpcStatus?: number;
  /** Request direction: bytes from source towards destination. */
  readonly bytesOut: number;
  /** Response direction: bytes from destination back to source. */
  readonly bytesIn: number;
  readonly durationMs: number;
  /** L7 requests, when the agent traces: the W3C trace and this agent's span for the request. */
  readonly traceId?: string;
  readonly spanId?: string;
  readonly parentSpanId?: string;
  /** The trace's sampled flag: a span is exported only when set. */
  readonly sampled?: boolean;
}

export type FlowSink = (f: FlowRecord) => void;

/** Hands a record to the sink; a throwing sink is logged, never propagated into the data path. */
export function emitFlow(sink: FlowSink, record: FlowRecord, log: Logger): void {
  try {
    sink(record);
  } catch (err) {
    log.warn({ err: describeError(err) }, 'flow sink threw; record dropped');
  }
}
