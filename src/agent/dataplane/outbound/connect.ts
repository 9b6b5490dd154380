// Outbound layer (innermost): a CONNECT stream to the picked endpoint on a
// pooled mTLS session, handed to the entry's exchange. Pool races (a session
// that closed between lookup and use, or allows fewer streams than assumed
// while it connected) are retried here on the same endpoint; anything else
// is a failure the retry layer may take elsewhere.
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import { DENY_REASON_HEADER, MESH_METHOD } from '../../../mesh/wire-headers.js';
import type { Service } from '../stack.js';
import type { ConnectAnswer, OutboundCall } from './call.js';
import { fail, type Outcome } from '../outcome.js';
import type { ConnectPool } from './pool/connect-pool.js';

function ignoreError(): void {
  /* the exchange handles stream errors; this keeps a late reset from being uncaught */
}

/** Resolves with the CONNECT response, or status 0 when the stream ends without one. */
export function connectAnswer(stream: ClientHttp2Stream): Promise<ConnectAnswer> {
  return new Promise((resolve) => {
    const onResponse = (h: IncomingHttpHeaders): void => {
      cleanup();
      const reason = h[DENY_REASON_HEADER];
      resolve({ status: Number(h[':status'] ?? 0), reason: typeof reason === 'string' ? reason : undefined });
    };
    const onEnd = (err?: Error): void => {
      cleanup();
      resolve({ status: 0, reason: err ? describeError(err) : `stream closed before an answer (code ${stream.rstCode ?? 'none'})` });
    };
    const onClose = (): void => onEnd();
    const cleanup = (): void => {
      stream.off('response', onResponse);
      stream.off('error', onEnd);
      stream.off('close', onClose);
    };
    stream.on('response', onResponse);
    stream.on('error', onEnd);
    stream.on('close', onClose);
  });
}

/** Waits for a connecting session, bounded by the call's connect timeout and its abort signal. */
function waitReady(ready: Promise<void>, signal: AbortSignal | undefined, timeoutMs: number): Promise<'ready' | 'aborted' | 'slow' | Error> {
  if (signal?.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => done('aborted');
    const done = (r: 'ready' | 'aborted' | 'slow' | Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    if (timeoutMs > 0) timer = setTimeout(() => done('slow'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    ready.then(
      () => done('ready'),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

export function connectService(pool: ConnectPool): Service<OutboundCall> {
  return async (call): Promise<Outcome> => {
    const endpoint = call.endpoint!;
    const dial = formatSocketAddress(endpoint.dial);
    let last = `${dial}: no session`;
    for (let race = 0; race < 2; race++) {
      const got = pool.acquire(call.snapshot, call.creds!, endpoint);
      if (got.kind === 'refuse') return fail(got.code, `${endpoint.spiffeId.toString()}: ${got.reason}`, { endpoint });
      const { entry } = got;
      if (!entry.connected) {
        const pending = call.breaker?.pending();
        if (pending?.kind === 'refuse') {
          pool.release(entry);
          return fail(pending.code, `${call.service}: ${pending.reason}`, { endpoint });
        }
        const r = await waitReady(entry.ready, call.attempt.signal, call.traffic.connectTimeoutMs);
        if (pending?.kind === 'ok') pending.release();
        if (r !== 'ready') {
          pool.release(entry);
          if (r === 'aborted') return fail('timeout', `mTLS session to ${dial} was not ready in time`, { endpoint });
          if (r === 'slow') return fail('connect_failed', `mTLS session to ${dial} not established within ${call.traffic.connectTimeoutMs} ms (connect timeout)`, { endpoint });
          return fail('connect_failed', describeError(r), { endpoint });
        }
        if (!pool.hasRoom(entry)) {
          // The peer's SETTINGS allow fewer streams: take a slot on another session rather than queue in nghttp2.
          pool.release(entry);
          last = `${dial}: session full (peer allows ${entry.session.remoteSettings?.maxConcurrentStreams} streams)`;
          continue;
        }
      }
      let stream: ClientHttp2Stream;
      try {
        stream =
          call.protocol === 'http' && call.openRequest
            ? call.openRequest(entry.session, endpoint)
            : entry.session.request({ ':method': MESH_METHOD, ':authority': endpoint.authority }, { endStream: false });
      } catch (err) {
        pool.release(entry);
        last = `${dial}: ${describeError(err)}`;
        continue;
      }
      stream.on('error', ignoreError);
      // The exchange's pipelines, the answer watcher and the pool's tracker legitimately exceed Node's default of 10.
      stream.setMaxListeners(32);
      pool.track(entry, stream);
      const answer = connectAnswer(stream);
      const answered = call.answered;
      if (answered) void answer.then((a) => answered(a.status));
      return call.exchange({ stream, endpoint, answer }, call.attempt);
    }
    return fail('connect_failed', last, { endpoint });
  };
}
