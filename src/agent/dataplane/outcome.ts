// What every data plane layer returns: a tagged value with a stable code,
// never an exception across layers. The respond layer of each direction turns
// it into a status and a body; the observe layer into a flow record and
// metrics. Codes are part of the operator interface (metric labels, flow
// records, docs/dataplane.md "Failure statuses"): add, never rename.
import type { Endpoint } from './dataplane-snapshot.js';

export type FailureCode =
  // Outbound, before the mesh: the request, the caller and the route.
  | 'bad_request' // not a CONNECT target or an absolute URI the proxy serves
  | 'unknown_source' // no local workload has the caller's address
  | 'attestation_failed' // the caller's process does not match its Workload's selectors
  | 'no_selectors' // the Workload declares none and the agent requires them
  | 'no_route' // no such mesh host or port, or no endpoint at all
  | 'bad_consistency_token' // a read to an HTTP data service presented a token that does not parse
  | 'no_svid' // the caller's workload has no valid SVID yet
  | 'breaker_open' // the destination already carries its TrafficPolicy's maxRequests
  | 'pending_limit' // too many calls already wait for a connection to the destination
  | 'no_endpoint' // every endpoint is ejected or was tried
  | 'shutting_down'
  // Reaching the destination agent.
  | 'connect_failed' // TLS/HTTP2 session to the endpoint could not be set up
  | 'stream_refused' // the session refused the stream before processing it (safe to retry)
  | 'timeout' // connect, per-try or request timeout, or the caller's deadline
  | 'reset' // the stream or the app connection broke mid-exchange
  | 'path_cut' // the agent closed the session itself: gateway probes found its path cut (no answer came; retried like a connect failure for idempotent requests)
  // The destination's answer.
  | 'denied' // the destination agent's policy refused the call (403)
  | 'refused' // the destination agent answered another non-2xx status (its reason says why)
  | 'upstream_5xx' // the app answered 5xx on an attempt that will be retried (never written to the caller)
  | 'client_closed' // the caller went away first
  // Inbound only: the stream's decision (inbound/decide.ts), then the app.
  | 'not_connect'
  | 'no_authority'
  | 'bad_authority'
  | 'no_workload'
  | 'misdirected'
  | 'undeclared_port'
  | 'policy_denied'
  | 'authorizer_failed'
  | 'bad_request_path'
  | 'http1_on_http2_port' // an HTTP/1.x caller on a port whose app speaks h2c only (505)
  | 'svid_expired'
  | 'workload_connection_limit'
  | 'app_unreachable'
  | 'app_timeout'
  | 'internal';

/** Codes that are a refusal by rule (flow verdict deny); every other failure is an error. */
const DENIALS: ReadonlySet<FailureCode> = new Set<FailureCode>(['denied', 'policy_denied', 'unknown_source', 'attestation_failed', 'no_selectors', 'undeclared_port', 'bad_request_path', 'http1_on_http2_port']);

/** The exchange happened: bytes moved and, for HTTP, the app's status (which may be 5xx). */
export interface Done {
  readonly kind: 'done';
  /** CONNECT answer (L4) or the app's HTTP status. */
  readonly status: number;
  readonly endpoint?: Endpoint;
  readonly bytesOut: number;
  readonly bytesIn: number;
  /** The stream was handed to the HTTP layer, which records each request as its own flow. */
  readonly perRequestFlows?: boolean;
}

export interface Failure {
  readonly kind: 'fail';
  readonly code: FailureCode;
  /** One line an operator can act on. */
  readonly reason: string;
  /** A status the other side gave (the destination agent's CONNECT answer), kept for the respond layer and the record. */
  readonly status?: number;
  readonly endpoint?: Endpoint;
  /** Something already reached the caller: nothing may be retried or written any more. */
  readonly responseStarted?: boolean;
  readonly bytesOut?: number;
  readonly bytesIn?: number;
}

export type Outcome = Done | Failure;

export function fail(code: FailureCode, reason: string, extra: Omit<Failure, 'kind' | 'code' | 'reason'> = {}): Failure {
  return { kind: 'fail', code, reason, ...extra };
}

/** The flow verdict of an outcome: policy said no (deny), something broke (error), or it went through. */
export function verdictOf(o: Outcome): 'allow' | 'deny' | 'error' {
  if (o.kind === 'done') return 'allow';
  return DENIALS.has(o.code) ? 'deny' : 'error';
}
