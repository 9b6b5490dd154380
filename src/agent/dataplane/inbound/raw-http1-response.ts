// HTTP/1.1 responses written straight onto a connection the HTTP server has
// let go of (after an Upgrade request, or on an http2 port that refuses
// HTTP/1): a status line, headers, and a body delimited by content-length or
// by closing the connection.
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { headerSafe } from '../dataplane-context.js';
import { DENY_REASON_HEADER } from '../../../mesh/wire-headers.js';

/** The response head; values that could split headers (CR, LF) are made printable. */
export function http1Head(status: number, headers: OutgoingHttpHeaders, statusText = STATUS_CODES[status] ?? 'Unknown'): string {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v).replace(/[\r\n]/g, ' ')}\r\n`;
  }
  return `${head}\r\n`;
}

/** A refusal with its reason, then the connection is closed (the request body, if any, was never parsed). */
export function endWithRefusal(socket: Duplex, status: number, reason: string, body = `entente: ${reason}\n`): void {
  if (socket.destroyed) return;
  socket.end(
    http1Head(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(reason), connection: 'close' }) + body,
  );
  // Whatever the caller still sends is never read: do not let it hold the stream open.
  socket.resume();
}
