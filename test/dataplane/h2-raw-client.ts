// A deliberately non-conforming HTTP/2 client for limit tests: writes raw
// frames over mTLS so it can open more streams than the server allows (which
// node:http2 never does) and report what the server answered per stream.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { SocketAddress } from '../../src/core/address.js';

export interface RawH2Options {
  readonly to: SocketAddress;
  readonly localAddress?: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly servername: string;
}

export interface RawH2Frames {
  /** Stream ids the server answered with HEADERS. */
  readonly answered: Set<number>;
  /** RST_STREAM error code per stream id. */
  readonly reset: Map<number, number>;
  goaway?: { lastStreamId: number; code: number };
  serverSettingsSeen: boolean;
  closed: boolean;
}

export const H2_REFUSED_STREAM = 7;
export const H2_PROTOCOL_ERROR = 1;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK "literal header field without indexing, indexed name" (RFC 7541 §6.2.2), no Huffman. */
function literal(nameIndex: number, value: string): Buffer {
  const v = Buffer.from(value, 'latin1');
  if (v.length >= 127) throw new Error('value too long for this tiny encoder');
  return Buffer.concat([Buffer.from([nameIndex, v.length]), v]);
}

/** A CONNECT request's HEADERS frame (END_HEADERS, stream stays open). */
export function connectHeaders(streamId: number, authority: string): Buffer {
  return frame(1, 0x4, streamId, Buffer.concat([literal(2, 'CONNECT'), literal(1, authority)]));
}

export const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))]);
export const SETTINGS_ACK = frame(4, 0x1, 0, Buffer.alloc(0));

/**
 * Opens an mTLS connection with ALPN h2 and parses every frame the server
 * sends. `onSecure` writes the first flight; `onServerSettings` runs once the
 * server's SETTINGS arrived (for a second flight after acknowledging them).
 */
export function rawH2(opts: RawH2Options, onSecure: (s: TLSSocket) => void, onServerSettings?: (s: TLSSocket) => void): { socket: TLSSocket; frames: RawH2Frames } {
  const frames: RawH2Frames = { answered: new Set(), reset: new Map(), serverSettingsSeen: false, closed: false };
  const tcp = netConnect({ host: opts.to.host, port: opts.to.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  tcp.on('error', () => undefined);
  const socket = tlsConnect({
    socket: tcp,
    ca: opts.ca, cert: opts.cert, key: opts.key, servername: opts.servername, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3',
    checkServerIdentity: () => undefined,
  });
  let buf = Buffer.alloc(0);
  socket.on('secureConnect', () => onSecure(socket));
  socket.on('error', () => undefined);
  socket.on('close', () => { frames.closed = true; });
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const type = buf[3]!;
      const flags = buf[4]!;
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === 1) frames.answered.add(id);
      else if (type === 3) frames.reset.set(id, payload.readUInt32BE(0));
      else if (type === 7) frames.goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
      else if (type === 4 && (flags & 0x1) === 0 && !frames.serverSettingsSeen) {
        frames.serverSettingsSeen = true;
        onServerSettings?.(socket);
      }
    }
  });
  return { socket, frames };
}
