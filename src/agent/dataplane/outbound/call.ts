// One outbound call as it passes down the stack: an entry (per-service port,
// HTTP CONNECT, absolute URI) builds it, each layer fills in what it decided,
// and the innermost layer hands an opened stream to the entry's exchange.
// One mutable record per call, with fields in a fixed order, rather than a
// copy per layer: it is the hot path.
import type { TraceIds } from '../observe/tracing.js';
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { DataplaneSnapshot, Endpoint, HttpDataRoute, LocalWorkload, StickyRead, WorkloadCredentials } from '../dataplane-snapshot.js';
import type { Outcome } from '../outcome.js';
import type { CircuitBreaker } from './balance/circuit-breaker.js';
import { DEFAULT_TRAFFIC, type TrafficSettings } from '../../../policy/traffic-policy.js';

export type OutboundEntry = 'port' | 'connect' | 'proxy';

/** A stream the connect layer opened towards one endpoint, with the destination's answer to come. */
export interface OpenedStream {
  readonly stream: ClientHttp2Stream;
  readonly endpoint: Endpoint;
  /** The destination agent's CONNECT answer; status 0 when the stream ended without one. */
  readonly answer: Promise<ConnectAnswer>;
}

export interface ConnectAnswer {
  readonly status: number;
  readonly reason?: string;
}

/** What one attempt may do: an attempt that is not final leaves a retryable failure unwritten. */
export interface Attempt {
  readonly number: number;
  readonly final: boolean;
  /** Aborted by a timeout layer; the exchange then ends its stream and settles with code "timeout". */
  readonly signal: AbortSignal | undefined;
}

/** An HTTP request the proxy port carries (absolute URI); absent for byte streams. */
export interface HttpRequestInfo {
  readonly method: string;
  /** Path without the query, as the policy and the retry rules see it. */
  readonly path: string;
  /** No body to replay: a retry can send the request again. */
  readonly replayable: boolean;
  /** The caller's own deadline (x-entente-timeout), milliseconds; 0 when none. */
  readonly deadlineMs: number;
  /** The request's headers as the app sent them (read by data-calls.ts, never copied). */
  readonly headers?: IncomingHttpHeaders;
  /** This agent's span for the request, when it traces (observe/tracing.ts). */
  readonly trace?: TraceIds;
}

export interface OutboundCall {
  // Set by the entry.
  readonly entry: OutboundEntry;
  /** The app's connection: its source address and owner identify the caller. */
  readonly socket: Socket;
  readonly host: string;
  readonly port: number;
  /** Epoch ms when the call arrived. */
  readonly start: number;
  /** The snapshot the whole call decides from, even if a new one is swapped in meanwhile. */
  readonly snapshot: DataplaneSnapshot;
  readonly http: HttpRequestInfo | undefined;
  /** Carries the app's bytes over an opened stream and settles with how it went. */
  readonly exchange: (opened: OpenedStream, attempt: Attempt) => Promise<Outcome>;
  /** Opens the call's own HTTP/2 request (absolute URIs to http ports) instead of a CONNECT stream. */
  readonly openRequest: ((session: ClientHttp2Session, endpoint: Endpoint) => ClientHttp2Stream) | undefined;
  /** Writes a refusal to the app when nothing was written yet (respond layer). */
  readonly refuse: (status: number, reason: string, closeConnection: boolean) => void;

  // Set by the caller layer.
  workload: LocalWorkload | undefined;
  attested: boolean;
  /** The caller failed admission (it will fail on every request of its connection). */
  callerRefused: boolean;
  /** Set by the route layer. */
  creds: WorkloadCredentials | undefined;
  /** The client-side settings of (service, port): the TrafficPolicy that selects it, or the defaults. */
  traffic: TrafficSettings;
  /** The destination port's declared protocol: an HTTP call to an http port is one HTTP/2 request between agents. */
  protocol: 'http' | 'tcp';
  service: string | undefined;
  endpoints: readonly Endpoint[] | undefined;
  /** The route's stickiness, when the host is a data service's TCP name (sticky-reads.ts). */
  sticky: StickyRead | undefined;
  /** The route's HTTP data service, when the host is one's name (data-calls.ts). */
  data: HttpDataRoute | undefined;
  /** The host whose balancer picks the endpoint, when not `host` (a sticky read balances as its read-write name). */
  balanceHost: string | undefined;
  /** Set by the pick layer: the endpoint of the current (last) attempt, and every endpoint tried (by key). */
  endpoint: Endpoint | undefined;
  tried: Set<string> | undefined;
  /** Set by the retry layer (and its signal by the timeout layers): the attempt under way. */
  attempt: Attempt;
  /** Set by the limit layer: the destination's breaker (the connect layer takes a pending slot while a session connects). */
  breaker: CircuitBreaker | undefined;
  /** Set by the pick layer for byte streams: told the destination's CONNECT answer status. */
  answered: ((status: number) => void) | undefined;
}

const FIRST: Attempt = { number: 1, final: true, signal: undefined };

export function newCall(c: Pick<OutboundCall, 'entry' | 'socket' | 'host' | 'port' | 'start' | 'snapshot' | 'http' | 'exchange' | 'refuse'> & { openRequest?: OutboundCall['openRequest'] }): OutboundCall {
  return {
    entry: c.entry,
    socket: c.socket,
    host: c.host,
    port: c.port,
    start: c.start,
    snapshot: c.snapshot,
    http: c.http,
    exchange: c.exchange,
    openRequest: c.openRequest,
    refuse: c.refuse,
    workload: undefined,
    attested: false,
    callerRefused: false,
    creds: undefined,
    protocol: 'tcp',
    traffic: DEFAULT_TRAFFIC,
    service: undefined,
    endpoints: undefined,
    sticky: undefined,
    data: undefined,
    balanceHost: undefined,
    endpoint: undefined,
    tried: undefined,
    attempt: FIRST,
    breaker: undefined,
    answered: undefined,
  };
}
