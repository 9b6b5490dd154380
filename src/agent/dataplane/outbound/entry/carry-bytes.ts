// The byte-stream exchange shared by the per-service ports and CONNECT:
// splices the app socket with the opened stream and settles once both
// directions are done, with the destination's answer deciding the outcome.
// App bytes are written right away (no wait for the answer); a refusal ends
// the app connection at once.
import type { Socket } from 'node:net';
import type { DataplaneContext } from '../../dataplane-context.js';
import type { OpenedStream } from '../call.js';
import { fail, type Outcome } from '../../outcome.js';
import { splice } from '../../splice.js';
import type { ConnectAnswer } from '../call.js';

/** The outcome a finished (or refused) byte stream had, from the destination's answer. */
export function answerOutcome(a: ConnectAnswer | undefined, opened: OpenedStream, bytesOut: number, bytesIn: number, responseStarted: boolean): Outcome {
  const status = a?.status ?? 0;
  const endpoint = opened.endpoint;
  if (status >= 200 && status < 300) return { kind: 'done', status, endpoint, bytesOut, bytesIn };
  if (status === 403) return fail('denied', a?.reason ?? 'denied by the destination', { status, endpoint, bytesOut, bytesIn, responseStarted });
  if (status === 0) return fail('reset', a?.reason ?? 'stream closed before an answer', { endpoint, bytesOut, bytesIn, responseStarted });
  return fail('refused', a?.reason ?? `destination answered ${status}`, { status, endpoint, bytesOut, bytesIn, responseStarted });
}

/**
 * `base`: socket byte counts that are not app payload (a proxy's CONNECT
 * request and answer). `idleTimeoutMs`: no bytes either way for this long
 * closes both sides (0: never).
 */
export function carryBytes(ctx: DataplaneContext, socket: Socket, opened: OpenedStream, idleTimeoutMs: number, base = { read: 0, written: 0 }): Promise<Outcome> {
  const { stream } = opened;
  if (socket.destroyed) {
    stream.close();
    return Promise.resolve(fail('client_closed', 'the app closed its connection before the stream opened', { endpoint: opened.endpoint }));
  }
  ctx.metrics.activeStreams.inc();
  let got: ConnectAnswer | undefined;
  void opened.answer.then((a) => {
    got = a;
    if (a.status !== 200) socket.destroy();
  });
  if (idleTimeoutMs > 0) socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  return new Promise((resolve) => {
    splice(socket, stream, () => {
      ctx.metrics.activeStreams.dec();
      const bytesOut = Math.max(0, socket.bytesRead - base.read);
      const bytesIn = Math.max(0, socket.bytesWritten - base.written);
      resolve(answerOutcome(got, opened, bytesOut, bytesIn, true));
    });
  });
}
