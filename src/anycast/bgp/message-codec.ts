// Framing and dispatch for whole BGP messages (RFC 4271 §4.1): the 19-byte
// header, per-type length limits, and NOTIFICATION / KEEPALIVE / ROUTE-REFRESH
// bodies. Pure functions: bytes in, values or the NOTIFICATION to send out.
import { ErrorCode, HEADER_LENGTH, HeaderSubcode, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import type { BgpMessage, CodecContext, Decoded, Notification } from './messages.js';
import { fail, ok } from './messages.js';
import { decodeOpenBody, encodeOpenBody } from './open-codec.js';
import { decodeUpdateBody, encodeUpdateBody } from './update-codec.js';

const TYPE_OF: Record<BgpMessage['type'], number> = {
  open: MessageType.OPEN,
  update: MessageType.UPDATE,
  notification: MessageType.NOTIFICATION,
  keepalive: MessageType.KEEPALIVE,
  'route-refresh': MessageType.ROUTE_REFRESH,
};

/** Smallest and largest valid total length per message type. */
const LENGTH_LIMITS: Record<number, readonly [number, number]> = {
  [MessageType.OPEN]: [29, MAX_MESSAGE_LENGTH],
  [MessageType.UPDATE]: [23, MAX_MESSAGE_LENGTH],
  [MessageType.NOTIFICATION]: [21, MAX_MESSAGE_LENGTH],
  [MessageType.KEEPALIVE]: [19, 19],
  [MessageType.ROUTE_REFRESH]: [23, 23],
};

function body(m: BgpMessage, ctx: CodecContext): Buffer {
  switch (m.type) {
    case 'open': return encodeOpenBody(m);
    case 'update': return encodeUpdateBody(m, ctx);
    case 'notification': return Buffer.concat([Buffer.from([m.code, m.subcode]), m.data]);
    case 'keepalive': return Buffer.alloc(0);
    case 'route-refresh': return Buffer.from([m.afi >> 8, m.afi & 0xff, 0, m.safi]);
  }
}

/** Encodes a whole message; throws only on a programming error (message > 4096 bytes). */
export function encodeMessage(m: BgpMessage, ctx: CodecContext): Buffer {
  const b = body(m, ctx);
  const total = HEADER_LENGTH + b.length;
  if (total > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP ${m.type} message of ${total} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  const head = Buffer.alloc(HEADER_LENGTH, 0xff);
  head.writeUInt16BE(total, 16);
  head.writeUInt8(TYPE_OF[m.type], 18);
  return Buffer.concat([head, b]);
}

export type Frame =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'frame'; readonly type: number; readonly body: Buffer; readonly length: number }
  | { readonly kind: 'error'; readonly notification: Notification };

/** Reads the next message from the front of a receive buffer (header checks only). */
export function readFrame(buf: Buffer): Frame {
  if (buf.length < HEADER_LENGTH) return { kind: 'incomplete' };
  for (let i = 0; i < 16; i++) {
    if (buf[i] !== 0xff) return { kind: 'error', notification: { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, data: new Uint8Array(0) } };
  }
  const length = buf.readUInt16BE(16);
  const type = buf[18]!;
  const limits = LENGTH_LIMITS[type];
  if (!limits) {
    return { kind: 'error', notification: { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.BAD_MESSAGE_TYPE, data: Uint8Array.from([type]) } };
  }
  if (length < limits[0] || length > limits[1]) {
    return { kind: 'error', notification: { code: ErrorCode.MESSAGE_HEADER, subcode: HeaderSubcode.BAD_MESSAGE_LENGTH, data: Uint8Array.from(buf.subarray(16, 18)) } };
  }
  if (buf.length < length) return { kind: 'incomplete' };
  return { kind: 'frame', type, body: buf.subarray(HEADER_LENGTH, length), length };
}

/** Decodes a framed body. Never throws: malformed input yields the NOTIFICATION to send. */
export function decodeBody(type: number, b: Buffer, ctx: CodecContext): Decoded<BgpMessage> {
  switch (type) {
    case MessageType.OPEN: return decodeOpenBody(b);
    case MessageType.UPDATE: return decodeUpdateBody(b, ctx);
    case MessageType.NOTIFICATION: return ok({ type: 'notification', code: b[0]!, subcode: b[1]!, data: Uint8Array.from(b.subarray(2)) });
    case MessageType.KEEPALIVE: return ok({ type: 'keepalive' });
    case MessageType.ROUTE_REFRESH: return ok({ type: 'route-refresh', afi: b.readUInt16BE(0), safi: b[3]! });
    default: return fail(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_TYPE, Uint8Array.from([type]));
  }
}

/** Convenience for tests and tools: decodes exactly one whole message. */
export function decodeMessage(buf: Buffer, ctx: CodecContext): Decoded<BgpMessage> | { kind: 'incomplete' } {
  const f = readFrame(buf);
  if (f.kind !== 'frame') return f;
  return decodeBody(f.type, f.body, ctx);
}
