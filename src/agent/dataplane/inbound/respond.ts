// Inbound respond: the one place an inbound failure becomes a status and a
// reason, for a CONNECT stream (its answer) and for an HTTP request on an L7
// stream (its response). Statuses are in docs/dataplane.md "Failure statuses".
import { constants, type ServerHttp2Stream } from 'node:http2';
import { DENY_REASON_HEADER } from '../../../mesh/wire-headers.js';
import { headerSafe } from '../dataplane-context.js';
import type { Layer } from '../stack.js';
import type { InboundCall } from './call.js';
import type { Failure, FailureCode } from '../outcome.js';

const STATUS: Partial<Record<FailureCode, number>> = {
  not_connect: 405,
  no_authority: 400,
  bad_authority: 400,
  no_workload: 404,
  misdirected: 421,
  undeclared_port: 403,
  policy_denied: 403,
  authorizer_failed: 500,
  bad_request_path: 400,
  http1_on_http2_port: 505,
  workload_connection_limit: 503,
  app_unreachable: 502,
  app_timeout: 504,
  timeout: 504,
  client_closed: 499,
  internal: 500,
};

export function inboundStatus(code: FailureCode): number {
  return STATUS[code] ?? 502;
}

/** Answers a CONNECT with a refusal status and its reason, then ends the stream. */
export function refuseStream(stream: ServerHttp2Stream, status: number, reason: string): void {
  if (stream.destroyed || stream.closed) return;
  try {
    if (!stream.headersSent) stream.respond({ ':status': status, [DENY_REASON_HEADER]: headerSafe(reason), 'content-type': 'text/plain' }, { endStream: true });
    stream.close(constants.NGHTTP2_NO_ERROR);
  } catch {
    stream.destroy();
  }
}

export function respondInbound(): Layer<InboundCall> {
  return (next) => async (call) => {
    const o = await next(call);
    if (o.kind === 'done' || o.responseStarted || o.code === 'client_closed') return o;
    const status = inboundStatus(o.code);
    refuseStream(call.stream, status, o.reason);
    return { ...o, status } satisfies Failure;
  };
}
