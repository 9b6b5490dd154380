// Entry: an absolute-URI request on the HTTP proxy port
// (`GET http://catalog.shop.mesh/x`). Each attempt sends the request over its
// own CONNECT stream right behind the CONNECT headers (no round trip waiting
// for the answer): a 200 is followed by the app's response on the same
// stream; a refusal ends the stream, and the app gets the destination's
// status and reason. An attempt that may be retried leaves a retryable 5xx
// unwritten.
import { request, type IncomingMessage, type ServerResponse, type RequestOptions } from 'node:http';
import { describeError } from '../../../../core/errors.js';
import { DENY_REASON_HEADER, TIMEOUT_HEADER } from '../../../../mesh/wire-headers.js';
import { parseDuration } from '../../../../core/duration.js';
import { headerSafe, type DataplaneContext } from '../../dataplane-context.js';
import type { Service } from '../../stack.js';
import { newCall, type Attempt, type HttpRequestInfo, type OpenedStream, type OutboundCall } from '../call.js';
import { fail, type Outcome } from '../../outcome.js';
import { refusalBody } from '../respond.js';
import { answerOutcome } from './carry-bytes.js';
import { endToEndHeaders } from '../../http-headers.js';
import { continueTrace } from '../../observe/tracing.js';
import { exchangeH2, openH2Request, type H2Request } from './h2-request.js';

export function refuseResponse(res: ServerResponse, status: number, reason: string, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = refusalBody(status, reason);
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [DENY_REASON_HEADER]: headerSafe(reason),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

/** A request with no body can be sent again on another stream. */
function replayable(req: IncomingMessage, method: string): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const len = req.headers['content-length'];
  if (len !== undefined && len !== '0') return false;
  return NO_BODY_METHODS.has(method) || len === '0';
}

/** The caller's deadline in ms: digits (milliseconds) or a duration; 0 when absent or unreadable. */
export function deadlineFrom(value: string | string[] | undefined): number {
  if (typeof value !== 'string' || value === '') return 0;
  if (/^\d{1,9}$/.test(value)) return Number(value);
  try {
    return parseDuration(value);
  } catch {
    return 0;
  }
}

export function absoluteUriEntry(ctx: DataplaneContext, outbound: Service<OutboundCall>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    let url: URL | undefined;
    try {
      url = /^http:\/\//i.test(req.url ?? '') ? new URL(req.url ?? '') : undefined;
    } catch {
      url = undefined;
    }
    if (!url) {
      refuseResponse(res, 400, 'this is the Entente mesh proxy: send absolute-URI requests (http://<service>.<namespace>.mesh/...) or CONNECT host:port');
      return;
    }
    const target = url;
    const method = req.method ?? 'GET';
    const headers = endToEndHeaders(req.headers);
    delete headers[TIMEOUT_HEADER];
    // Our span becomes the parent the destination agent sees (every attempt of the call carries it).
    const trace = continueTrace(ctx.tracing, headers);
    const http: HttpRequestInfo = { method, path: target.pathname, replayable: replayable(req, method), deadlineMs: deadlineFrom(req.headers[TIMEOUT_HEADER]), headers: req.headers, ...(trace ? { trace } : {}) };
    headers.connection = 'close';
    let bodySent = false;

    const viaTunnel = (opened: OpenedStream, attempt: Attempt): Promise<Outcome> =>
      new Promise((resolve) => {
        const { stream, endpoint } = opened;
        let bytesOut = 0;
        let bytesIn = 0;
        let settled = false;
        const settle = (o: Outcome): void => {
          if (settled) return;
          settled = true;
          attempt.signal?.removeEventListener('abort', onAbort);
          resolve(o);
        };
        const createConnection = (() => stream) as unknown as RequestOptions['createConnection'];
        const up = request({ method, path: `${target.pathname}${target.search}`, headers, setHost: false, createConnection });
        const onAbort = (): void => {
          up.destroy();
          if (!stream.destroyed) stream.destroy();
          if (res.headersSent) res.destroy();
          settle(fail('timeout', 'attempt aborted', { endpoint, responseStarted: res.headersSent, bytesOut, bytesIn }));
        };
        if (attempt.signal?.aborted) {
          onAbort();
          return;
        }
        attempt.signal?.addEventListener('abort', onAbort, { once: true });
        let clientGone = false;
        let upstreamBroke = false;
        res.once('close', () => {
          if (res.writableFinished || upstreamBroke) return;
          // A caller that leaves mid-request must not keep the attempt going.
          clientGone = true;
          up.destroy();
          if (!stream.destroyed) stream.destroy();
        });
        up.on('error', (err) => {
          if (!stream.destroyed) stream.destroy();
          void opened.answer.then((a) => {
            if (a.status !== 200 && a.status !== 0) {
              settle(answerOutcome(a, opened, bytesOut, bytesIn, false));
              return;
            }
            if (res.headersSent) res.destroy();
            const reason = `${target.hostname}: ${a.status === 0 && a.reason ? a.reason : describeError(err)}`;
            settle(fail(clientGone ? 'client_closed' : 'reset', reason, { endpoint, responseStarted: res.headersSent, bytesOut, bytesIn }));
          });
        });
        up.on('response', (ur) => {
          const status = ur.statusCode ?? 0;
          if (status >= 500 && !attempt.final) {
            // Dropped, never shown to the caller: the retry layer sends the request again.
            ur.resume();
            up.destroy();
            settle(fail('upstream_5xx', `${target.hostname} answered ${status}`, { status, endpoint, bytesOut, bytesIn }));
            return;
          }
          ur.on('data', (c: Buffer) => (bytesIn += c.length));
          ur.on('error', () => {
            upstreamBroke = true;
            res.destroy();
          });
          res.writeHead(status, endToEndHeaders(ur.headers));
          ur.pipe(res);
          res.once('close', () => settle({ kind: 'done', status, endpoint, bytesOut, bytesIn }));
        });
        if (http.replayable) up.end();
        else if (!bodySent) {
          bodySent = true;
          req.on('data', (c: Buffer) => (bytesOut += c.length));
          req.pipe(up);
        } else up.destroy();
      });

    // HTTP/2 has no connection-specific headers (RFC 9113 8.2.2): the tunnel's "connection: close" stays out.
    const { connection: _tunnelOnly, ...h2Headers } = headers;
    const asRequest: H2Request = {
      method,
      pathAndQuery: `${target.pathname}${target.search}`,
      headers: h2Headers,
      sent: { bytes: 0 },
      body: () => {
        if (http.replayable || bodySent) return undefined;
        bodySent = true;
        return req;
      },
    };
    const exchange = (opened: OpenedStream, attempt: Attempt): Promise<Outcome> => (call.protocol === 'http' ? exchangeH2(opened, attempt, res, asRequest.sent) : viaTunnel(opened, attempt));
    const call: OutboundCall = newCall({
      entry: 'proxy',
      openRequest: (session, endpoint) => openH2Request(session, endpoint, asRequest),
      socket: req.socket,
      host: target.hostname,
      port: target.port ? Number(target.port) : 80,
      start: ctx.now(),
      snapshot: ctx.state.current,
      http,
      exchange,
      refuse: (status, reason, close) => refuseResponse(res, status, reason, close),
    });
    await outbound(call);
  };
}
