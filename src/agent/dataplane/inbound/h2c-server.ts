// HTTP mode for callers that speak HTTP/2 (h2c, prior knowledge) inside the
// CONNECT stream: an h2c server fed the stream, and per request the same gate
// as HTTP/1.1 (normalize, authorize method + path, bulkhead), then forward
// (h2-app-forward.ts). A refused or failed gRPC call ends with a gRPC status
// (grpc-status.ts) instead of an HTTP error, since gRPC clients read only that.
import { createServer, constants, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../core/errors.js';
import { headerSafe, type DataplaneContext } from '../dataplane-context.js';
import type { InboundPeer } from './decide.js';
import { recordInbound, type RequestRecord } from './observe.js';
import { continueTrace } from '../observe/tracing.js';
import { DENY_REASON_HEADER, GRPC_TIMEOUT_HEADER, REFUSAL_CODE_HEADER } from '../../../mesh/wire-headers.js';
import type { FailureCode } from '../outcome.js';
import { gateL7Request, type L7Target } from './l7-gate.js';
import { grpcCodeForAgentStatus, grpcTrailersOnly, isGrpcContentType, parseGrpcTimeout } from './grpc-status.js';
import { AppH2Pool } from './app-h2-pool.js';
import { forwardToH1App, forwardToH2App, type H2CallEnd } from './h2-app-forward.js';
import { writeTokenFor } from './write-token.js';

interface H2Connection {
  readonly peer: InboundPeer;
  readonly target: L7Target;
}

/**
 * Answers a refusal in the caller's framing: a gRPC status when the request's
 * content type is gRPC, else the status with its reason.
 */
export function respondH2Refusal(stream: ServerHttp2Stream, requestContentType: unknown, status: number, reason: string, body = `entente: ${reason}\n`, code: FailureCode = 'internal'): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    if (isGrpcContentType(requestContentType)) {
      stream.respond({ ...grpcTrailersOnly(grpcCodeForAgentStatus(status), reason, requestContentType), [DENY_REASON_HEADER]: headerSafe(reason), [REFUSAL_CODE_HEADER]: code }, { endStream: true });
    } else {
      stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(reason), [REFUSAL_CODE_HEADER]: code });
      stream.end(body);
    }
  } catch {
    stream.destroy();
    return;
  }
  // The caller may still be sending its body: read it away, or flow control stalls the session.
  stream.resume();
}

export class InboundH2 {
  private readonly server: Http2Server;
  private readonly connections = new WeakMap<ServerHttp2Session, H2Connection>();
  private readonly live = new Set<ServerHttp2Session>();
  private readonly apps: AppH2Pool;
  /** The connection being handed over: node creates its session synchronously inside emit('connection'). */
  private pending: H2Connection | undefined;

  constructor(private readonly ctx: DataplaneContext, private readonly h1Agent: Agent) {
    this.apps = new AppH2Pool(ctx.tuning);
    this.server = createServer({
      settings: { initialWindowSize: ctx.tuning.streamWindowBytes, maxConcurrentStreams: ctx.tuning.maxStreamsPerSession },
      maxSessionMemory: 256,
    });
    this.server.on('session', (session: ServerHttp2Session) => {
      const conn = this.pending;
      this.pending = undefined;
      if (!conn) {
        session.destroy();
        return;
      }
      this.connections.set(session, conn);
      this.live.add(session);
      session.once('close', () => this.live.delete(session));
      session.on('error', (err) => ctx.log.debug({ err: describeError(err) }, 'h2c session error on an L7 stream'));
    });
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      stream.on('error', (err) => ctx.log.debug({ err: describeError(err) }, 'h2c stream error on an L7 stream'));
      try {
        this.onStream(stream, headers, flags);
      } catch (err) {
        // A bug must cost one request, never the connection or the process.
        ctx.log.error({ err: describeError(err) }, 'h2c request handler failed');
        respondH2Refusal(stream, headers['content-type'], 500, 'internal error in the destination agent');
      }
    });
  }

  /** Takes over an L7 stream whose caller sent the HTTP/2 preface (the bytes are still unread in `view`). */
  accept(view: Duplex, peer: InboundPeer, target: L7Target): void {
    this.pending = { peer, target };
    try {
      this.server.emit('connection', view);
    } finally {
      if (this.pending) {
        // No session was made: nothing can serve this stream.
        this.pending = undefined;
        view.destroy();
      }
    }
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    const conn = this.connections.get(stream.session as ServerHttp2Session);
    if (!conn) {
      respondH2Refusal(stream, headers['content-type'], 500, 'request on an unknown stream');
      return;
    }
    this.serve(stream, headers, flags, conn.peer, conn.target, this.ctx.now());
  }

  /**
   * One HTTP/2 request to an http or http2 port, from an h2c session inside a
   * CONNECT stream or straight from the mesh session (a calling agent's
   * request): gate, forward, record.
   */
  serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, peer: InboundPeer, target: L7Target, start: number): void {
    const ctx = this.ctx;
    // Our span becomes the parent the app sees; every record of this request carries it.
    const trace = continueTrace(ctx.tracing, headers);
    const record = (r: RequestRecord): void => recordInbound(ctx, peer, start, trace ? { ...r, trace } : r);
    const contentType = headers['content-type'];
    const grpc = isGrpcContentType(contentType);
    const method = String(headers[':method'] ?? '');
    const rawTarget = headers[':path'];
    if (method === 'CONNECT' || typeof rawTarget !== 'string') {
      // Includes extended CONNECT (RFC 8441, WebSocket over HTTP/2): tunnels would bypass per-request authorization.
      const reason = method === 'CONNECT' ? 'CONNECT (also extended CONNECT, RFC 8441) is not served on an HTTP port; use WebSocket over HTTP/1.1' : 'request without :path';
      const status = method === 'CONNECT' ? 405 : 400;
      respondH2Refusal(stream, contentType, status, reason, undefined, 'bad_request_path');
      record({ verdict: 'deny', code: 'bad_request_path', target, reason, method, path: '', status, bytesOut: 0, bytesIn: 0 });
      return;
    }
    const gate = gateL7Request(ctx, peer, target, method, rawTarget);
    if (gate.kind === 'refuse') {
      respondH2Refusal(stream, contentType, gate.status, gate.reason, gate.body, gate.code);
      record({ verdict: gate.verdict, code: gate.code, target, policy: gate.policy, rule: gate.rule, reason: gate.reason, method, path: gate.path, status: gate.status, grpcStatus: grpc ? grpcCodeForAgentStatus(gate.status) : undefined, bytesOut: 0, bytesIn: 0 });
      return;
    }
    const call = {
      stream,
      headers,
      method,
      endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      app: { host: target.workload.address, port: target.port },
      target: gate.target,
      destination: target.workload.spiffeId.toString(),
      caller: peer.caller.toString(),
      writeToken: writeTokenFor(ctx, target, method, gate.path, headers),
    };
    // The caller's deadline (grpc-timeout): past it the app's stream is cancelled and the caller gets DEADLINE_EXCEEDED.
    const deadlineMs = parseGrpcTimeout(headers[GRPC_TIMEOUT_HEADER]);
    let deadline: NodeJS.Timeout | undefined;
    let expired = false;
    if (deadlineMs !== undefined) {
      deadline = setTimeout(() => {
        expired = true;
        if (!stream.headersSent) respondH2Refusal(stream, contentType, 504, `deadline of ${deadlineMs} ms (grpc-timeout) exceeded`, undefined, 'timeout');
        else if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      }, deadlineMs);
      deadline.unref();
    }
    const done = (end: H2CallEnd): void => {
      clearTimeout(deadline);
      gate.release();
      if (expired) {
        record({ verdict: 'error', code: 'timeout', target, policy: gate.policy, rule: gate.rule, reason: `deadline of ${deadlineMs} ms (grpc-timeout) exceeded`, method, path: gate.path, status: 504, grpcStatus: grpc ? 4 : undefined, bytesOut: end.bytesOut, bytesIn: end.bytesIn });
        return;
      }
      const grpcStatus = end.grpcStatus ?? (grpc && end.verdict === 'error' ? grpcCodeForAgentStatus(end.status) : undefined);
      const code = end.verdict !== 'error' ? undefined : end.cancelled ? 'client_closed' : end.status === 504 ? 'app_timeout' : end.status === 502 ? 'app_unreachable' : 'reset';
      record({ verdict: end.verdict, code, target, policy: gate.policy, rule: gate.rule, reason: end.reason, method, path: gate.path, status: end.status, grpcStatus, bytesOut: end.bytesOut, bytesIn: end.bytesIn });
    };
    const fail = (status: number, reason: string): void => respondH2Refusal(stream, contentType, status, reason, undefined, status === 504 ? 'app_timeout' : 'app_unreachable');
    if (target.protocol === 'http2') forwardToH2App(call, () => this.apps.session(call.app.host, call.app.port), fail, done);
    else forwardToH1App(call, this.h1Agent, fail, done);
  }

  close(): void {
    for (const s of this.live) s.destroy();
    this.apps.close();
    this.server.close();
  }
}
