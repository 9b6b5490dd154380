// The absolute-URI entry's exchange for http ports: the request travels as
// one HTTP/2 request on the pooled mTLS session (as linkerd2-proxy upgrades
// HTTP/1.1 between proxies), so neither agent parses HTTP/1.1 over a tunnel
// and no CONNECT is set up per request. The destination agent authorizes it
// and answers with the app's response, or with its own refusal, which names
// its code in x-entente-refusal.
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { EntenteError, describeError } from '../../../../core/errors.js';
import { DENY_REASON_HEADER, REFUSAL_CODE_HEADER } from '../../../../mesh/wire-headers.js';
import type { Endpoint } from '../../dataplane-snapshot.js';
import type { Attempt, OpenedStream } from '../call.js';
import { fail, type Outcome } from '../../outcome.js';

/** Bytes of an abandoned response read and dropped before its stream is reset instead. */
const DRAIN_LIMIT = 256 * 1024;

/** Destination-agent refusals that mean the app never received the request. */
const NOT_PROCESSED: ReadonlySet<string> = new Set(['app_unreachable', 'app_timeout', 'workload_connection_limit']);

export interface H2Request {
  readonly method: string;
  readonly pathAndQuery: string;
  /** End-to-end request headers, Host included. */
  readonly headers: OutgoingHttpHeaders;
  /** The body to send on this attempt, or undefined when there is none (or it was sent on an earlier one). */
  body(): Readable | undefined;
  /** Request body bytes sent so far. */
  readonly sent: { bytes: number };
}

export function openH2Request(session: ClientHttp2Session, endpoint: Endpoint, r: H2Request): ClientHttp2Stream {
  const body = r.body();
  const stream = session.request({ ...r.headers, ':method': r.method, ':path': r.pathAndQuery, ':authority': endpoint.authority, ':scheme': 'http' }, { endStream: body === undefined });
  if (body) {
    body.on('data', (c: Buffer) => (r.sent.bytes += c.length));
    body.pipe(stream);
  }
  return stream;
}

function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (k[0] !== ':' && v !== undefined) out[k] = v;
  return out;
}

export function exchangeH2(opened: OpenedStream, attempt: Attempt, res: ServerResponse, sent: { bytes: number }): Promise<Outcome> {
  const { stream, endpoint } = opened;
  return new Promise((resolve) => {
    let bytesIn = 0;
    let status = 0;
    let settled = false;
    let refusal: { code: string; reason: string } | undefined;
    const settle = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      attempt.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const cancel = (): void => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    };
    const onAbort = (): void => {
      cancel();
      if (res.headersSent) res.destroy();
      settle(fail('timeout', 'attempt aborted', { endpoint, responseStarted: res.headersSent, bytesIn }));
    };
    if (attempt.signal?.aborted) {
      onAbort();
      return;
    }
    attempt.signal?.addEventListener('abort', onAbort, { once: true });
    const bytesOut = (): number => sent.bytes;
    res.once('close', () => {
      if (res.writableFinished || settled) return;
      settle(fail('client_closed', 'caller closed before the response completed', { endpoint, status: status || undefined, responseStarted: res.headersSent, bytesIn }));
      if (status === 0 || !stream.readable) {
        // No response yet: the destination need not finish the request.
        cancel();
        return;
      }
      // The response is under way, most likely all but its end (a client that closes as soon as it has
      // Content-Length bytes): let the stream finish and discard the rest rather than reset it. Resets
      // in bulk look like an HTTP/2 rapid-reset attack to the destination, which then ends the session
      // for everyone on it. A long download is still cut, once DRAIN_LIMIT bytes have gone to waste.
      stream.unpipe(res);
      let drained = 0;
      stream.on('data', (c: Buffer) => {
        drained += c.length;
        if (drained > DRAIN_LIMIT) cancel();
      });
      stream.resume();
    });
    stream.on('response', (h) => {
      status = Number(h[':status'] ?? 0);
      const code = h[REFUSAL_CODE_HEADER];
      const reason = h[DENY_REASON_HEADER];
      if (typeof code === 'string') refusal = { code, reason: typeof reason === 'string' ? reason : `destination agent refused (${code})` };
      if (status >= 500 && !attempt.final) {
        // Dropped, never shown to the caller: the retry layer sends the request again. A refusal
        // by the destination agent before the app saw anything is as safe to repeat as a refused stream.
        cancel();
        const unseen = refusal !== undefined && NOT_PROCESSED.has(refusal.code);
        settle(fail(unseen ? 'stream_refused' : 'upstream_5xx', refusal ? refusal.reason : `${endpoint.authority} answered ${status}`, { status, endpoint }));
        return;
      }
      res.writeHead(status, responseHeaders(h));
      stream.on('data', (c: Buffer) => (bytesIn += c.length));
      stream.pipe(res);
    });
    stream.on('close', () => {
      if (settled) return;
      if (status === 0) {
        // No response at all: a refused stream was never processed (safe to retry); anything else broke mid-way.
        const refused = stream.rstCode === constants.NGHTTP2_REFUSED_STREAM;
        settle(fail(refused ? 'stream_refused' : 'reset', `${endpoint.authority}: the stream ended without a response (code ${stream.rstCode ?? 'none'})`, { endpoint }));
        return;
      }
      const complete = stream.rstCode === constants.NGHTTP2_NO_ERROR;
      if (!complete) res.destroy();
      const o: Outcome = !refusal
        ? complete
          ? { kind: 'done', status, endpoint, bytesOut: bytesOut(), bytesIn }
          : fail('reset', `${endpoint.authority}: the response broke off (code ${stream.rstCode ?? 'none'})`, { status, endpoint, responseStarted: true, bytesIn })
        : fail(refusal.code === 'policy_denied' ? 'denied' : 'refused', refusal.reason, { status, endpoint, responseStarted: true, bytesIn });
      if (!complete || res.writableFinished) settle(o);
      else res.once('finish', () => settle(o));
    });
    stream.on('error', (err) => {
      if (status === 0) settle(fail(isPathCut(err) ? 'path_cut' : 'reset', `${endpoint.authority}: ${describeError(err)}`, { endpoint }));
    });
  });
}

/** The session was closed by this agent because gateway probes found its path cut (ConnectPool.dropDials). */
function isPathCut(err: unknown): boolean {
  return err instanceof EntenteError && err.code === 'PATH_UNREACHABLE';
}
