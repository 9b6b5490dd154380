// Entry: `CONNECT host:port` on the HTTP proxy port. The tunnel is answered
// 200 only once the destination agent accepted the stream, so a refusal can
// still be told as a status and a reason (a raw HTTP/1.1 answer, then close).
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../../core/errors.js';
import { parseSocketAddress } from '../../../../core/address.js';
import { DENY_REASON_HEADER } from '../../../../mesh/wire-headers.js';
import { headerSafe, type DataplaneContext } from '../../dataplane-context.js';
import type { Service } from '../../stack.js';
import { newCall, type OpenedStream, type OutboundCall } from '../call.js';
import { fail, type Outcome } from '../../outcome.js';
import { refusalBody } from '../respond.js';
import { answerOutcome, carryBytes } from './carry-bytes.js';

/** A complete HTTP/1.1 refusal written on a raw (CONNECT) socket, then closed. */
export function refuseRaw(socket: Duplex, status: number, reason: string): void {
  const body = refusalBody(status, reason);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `${DENY_REASON_HEADER}: ${headerSafe(reason)}`,
    'connection: close',
  ].join('\r\n');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Drain what the client still sends (unread bytes would turn our close into a
  // reset that can eat the answer), and close once the answer is flushed.
  socket.resume();
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}

export function httpConnectEntry(ctx: DataplaneContext, outbound: Service<OutboundCall>): (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> {
  return async (req, duplex, head) => {
    const socket = duplex as Socket;
    socket.on('error', () => undefined);
    // The HTTP server let go of the socket; hold its bytes until the tunnel is spliced.
    socket.pause();
    const requestBytes = socket.bytesRead - head.length;
    let target: { host: string; port: number };
    try {
      target = parseSocketAddress(req.url ?? '', 'CONNECT target', false);
    } catch (err) {
      refuseRaw(socket, 400, describeError(err));
      return;
    }
    const exchange = async (opened: OpenedStream): Promise<Outcome> => {
      const answer = await opened.answer;
      if (answer.status !== 200 || socket.destroyed) {
        if (!opened.stream.destroyed) opened.stream.close();
        if (socket.destroyed) return fail('client_closed', 'client went away before the tunnel opened', { endpoint: opened.endpoint, status: answer.status });
        return answerOutcome(answer, opened, 0, 0, false);
      }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) opened.stream.write(head);
      return carryBytes(ctx, socket, opened, call.traffic.idleTimeoutMs, { read: requestBytes, written: socket.bytesWritten });
    };
    const call = newCall({
      entry: 'connect',
      socket,
      host: target.host,
      port: target.port,
      start: ctx.now(),
      snapshot: ctx.state.current,
      http: undefined,
      exchange,
      refuse: (status, reason) => refuseRaw(socket, status, reason),
    });
    await outbound(call);
  };
}
