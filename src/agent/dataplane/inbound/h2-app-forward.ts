// Carries one admitted HTTP/2 request to the app and its response back: over
// the app's pooled h2c session (`protocol: http2`: headers, bodies and
// TRAILERS both ways, gRPC's statuses included) or, translated, over the
// HTTP/1.1 keep-alive pool (`protocol: http`). Bodies are piped, so HTTP/2
// flow control and socket backpressure pass through. Resets travel both ways:
// a caller that cancels cancels the app's stream, and an app that resets
// resets the caller's.
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { request, type Agent } from 'node:http';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import { grpcStatusOf } from './grpc-status.js';
import { h1AppRequestHeadersFromH2, h2AppRequestHeaders, h2ResponseHeaders, h2Trailers } from './h2-headers.js';
import { APP_CONNECT_TIMEOUT } from './app-h2-pool.js';
import type { WriteToken } from './write-token.js';

export interface H2Call {
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly method: string;
  /** The caller's HEADERS frame ended the stream: no body, no trailers. */
  readonly endStream: boolean;
  readonly app: { readonly host: string; readonly port: number };
  /** The checked target (normalized path + original query): what the app receives. */
  readonly target: string;
  readonly destination: string;
  readonly caller: string;
  /** A write to an HTTP data service's member: a 2xx response waits for its consistency token (write-token.ts). */
  readonly writeToken?: WriteToken | undefined;
}

export interface H2CallEnd {
  readonly verdict: 'allow' | 'error';
  /** The caller cancelled the stream (RST_STREAM CANCEL) before the response completed. */
  readonly cancelled: boolean;
  readonly status: number;
  readonly reason?: string;
  readonly grpcStatus?: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

/** Answers a failure before any response header went out, in the caller's framing (plain or gRPC). */
export type RespondFailure = (status: number, reason: string) => void;

const noBody = (method: string, status: number): boolean => method === 'HEAD' || status === 204 || status === 205 || status === 304;

/** The response headers, plus a data write's token when there is one (no copy for every other response). */
const withExtra = (headers: OutgoingHttpHeaders, extra: OutgoingHttpHeaders | undefined): OutgoingHttpHeaders => (extra ? Object.assign(headers, extra) : headers);

/** Runs `send` with the headers to add: at once, or once a data write's token is known (only 2xx writes wait). */
function withWriteToken(call: H2Call, status: number, send: (extra: OutgoingHttpHeaders | undefined) => void): void {
  if (!call.writeToken || status < 200 || status > 299) {
    send(undefined);
    return;
  }
  call.writeToken().then(send, () => send(undefined));
}

/** Tracks one call and reports it once, when the caller's stream closes. */
class CallState {
  bytesOut = 0;
  bytesIn = 0;
  status = 0;
  grpcStatus: number | undefined;
  failure: { status: number; reason: string } | undefined;

  constructor(readonly call: H2Call, private readonly done: (end: H2CallEnd) => void) {
    call.stream.once('close', () => this.report());
  }

  private report(): void {
    const { stream } = this.call;
    const clean = this.failure === undefined && this.status > 0 && stream.rstCode === constants.NGHTTP2_NO_ERROR;
    const reason = this.failure?.reason ?? (clean ? undefined : `stream reset (HTTP/2 code ${stream.rstCode ?? '?'}) before the response completed`);
    this.done({ verdict: clean ? 'allow' : 'error', cancelled: !clean && this.failure === undefined && stream.rstCode === constants.NGHTTP2_CANCEL, status: this.failure?.status ?? this.status, reason, grpcStatus: this.grpcStatus, bytesOut: this.bytesOut, bytesIn: this.bytesIn });
  }

  /** Sends the response head; with trailers to come unless there is no body. Returns false when the caller is gone. */
  respond(headers: OutgoingHttpHeaders, endStream: boolean): boolean {
    const { stream } = this.call;
    if (stream.destroyed || stream.closed) return false;
    try {
      stream.respond(headers, { endStream, waitForTrailers: !endStream });
      return true;
    } catch {
      stream.destroy();
      return false;
    }
  }

  fail(respondFailure: RespondFailure, status: number, reason: string): void {
    if (this.failure) return;
    this.failure = { status, reason };
    const { stream } = this.call;
    if (!stream.headersSent) respondFailure(status, reason);
    else if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

function appFailureStatus(err: unknown): number {
  return (err as { code?: unknown } | undefined)?.code === APP_CONNECT_TIMEOUT ? 504 : 502;
}

/** `protocol: http2`: the request goes to the app as HTTP/2 on its shared h2c session. */
export function forwardToH2App(call: H2Call, session: () => ClientHttp2Session, respondFailure: RespondFailure, done: (end: H2CallEnd) => void): void {
  const st = new CallState(call, done);
  const { stream } = call;
  const appAddress = formatSocketAddress(call.app);
  let up: ClientHttp2Stream;
  try {
    up = session().request(h2AppRequestHeaders(call.headers, call.target, call.destination, call.caller), { endStream: call.endStream, waitForTrailers: !call.endStream });
  } catch (err) {
    st.fail(respondFailure, 502, `cannot open a stream to the app at ${appAddress}: ${describeError(err)}`);
    return;
  }
  let callerTrailers: OutgoingHttpHeaders = {};
  let appTrailers: OutgoingHttpHeaders = {};
  stream.on('trailers', (t: IncomingHttpHeaders) => (callerTrailers = h2Trailers(t)));
  up.on('wantTrailers', () => {
    try {
      up.sendTrailers(callerTrailers);
    } catch {
      up.close();
    }
  });
  stream.on('wantTrailers', () => {
    try {
      stream.sendTrailers(appTrailers);
    } catch {
      stream.close();
    }
  });
  if (!call.endStream) {
    stream.on('data', (c: Buffer) => (st.bytesOut += c.length));
    stream.pipe(up);
  }
  up.on('response', (h: IncomingHttpHeaders, flags: number) => {
    st.status = Number(h[':status']) || 502;
    // A trailers-only response (gRPC errors) carries its status in the only HEADERS frame.
    const trailersOnly = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (trailersOnly) st.grpcStatus = grpcStatusOf(h);
    const empty = trailersOnly || noBody(call.method, st.status);
    withWriteToken(call, st.status, (extra) => {
      if (!st.respond(withExtra(h2ResponseHeaders(st.status, h), extra), empty)) return;
      if (empty) {
        up.resume();
        return;
      }
      up.on('data', (c: Buffer) => (st.bytesIn += c.length));
      up.pipe(stream);
    });
  });
  up.on('trailers', (t: IncomingHttpHeaders) => {
    appTrailers = h2Trailers(t);
    st.grpcStatus = grpcStatusOf(t);
  });
  up.on('error', (err) => {
    st.fail(respondFailure, appFailureStatus(err), `app at ${appAddress} failed: ${describeError(err)} (is it listening on its Workload address and speaking h2c, as protocol: http2 says?)`);
  });
  up.on('close', () => {
    const code = up.rstCode ?? constants.NGHTTP2_NO_ERROR;
    if (code === constants.NGHTTP2_NO_ERROR || stream.closed) return;
    if (!stream.headersSent && code === constants.NGHTTP2_REFUSED_STREAM) {
      // Nothing was processed: the caller may retry, so say exactly that.
      stream.close(code);
      return;
    }
    if (!stream.headersSent) st.fail(respondFailure, 502, `app at ${appAddress} reset the stream (HTTP/2 code ${code})`);
    else stream.close(code);
  });
  // A caller that cancels (gRPC deadlines, aborted downloads) cancels the app's work too.
  stream.once('close', () => {
    if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
  });
}

/** `protocol: http`: an HTTP/2 caller's request, translated to HTTP/1.1 for the app (request trailers are not passed on). */
export function forwardToH1App(call: H2Call, agent: Agent, respondFailure: RespondFailure, done: (end: H2CallEnd) => void): void {
  const st = new CallState(call, done);
  const { stream } = call;
  const appAddress = formatSocketAddress(call.app);
  const up = request({
    host: call.app.host,
    port: call.app.port,
    method: call.method,
    path: call.target,
    headers: h1AppRequestHeadersFromH2(call.headers, call.destination, call.caller),
    agent,
    setHost: false,
  });
  let appTrailers: OutgoingHttpHeaders = {};
  let complete = false;
  stream.on('wantTrailers', () => {
    try {
      stream.sendTrailers(appTrailers);
    } catch {
      stream.close();
    }
  });
  up.on('error', (err) => st.fail(respondFailure, 502, `app at ${appAddress} failed: ${describeError(err)}`));
  up.on('response', (ur) => {
    st.status = ur.statusCode ?? 502;
    const empty = noBody(call.method, st.status);
    ur.on('error', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
    withWriteToken(call, st.status, (extra) => {
      if (!st.respond(withExtra(h2ResponseHeaders(st.status, ur.headers), extra), empty)) {
        ur.destroy();
        return;
      }
      ur.on('data', (c: Buffer) => (st.bytesIn += c.length));
      ur.on('end', () => {
        complete = true;
        appTrailers = h2Trailers(ur.trailers);
      });
      if (empty) ur.resume();
      else ur.pipe(stream);
    });
  });
  stream.on('data', (c: Buffer) => (st.bytesOut += c.length));
  stream.pipe(up);
  stream.once('close', () => {
    // A finished exchange leaves the socket to the keep-alive pool; anything else must not be reused.
    if (!complete) up.destroy();
  });
}
