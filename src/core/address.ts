// Socket addresses ("127.0.1.1:15008", "[::1]:443") parsed once at the edge.
import { isIP } from 'node:net';
import { EntenteError } from './errors.js';

export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

export function parseSocketAddress(text: string, key = 'address', allowPortZero = true): SocketAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : NaN;
  if (!m || !host || port > 65535 || (!allowPortZero && port === 0) || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new EntenteError('BAD_ADDRESS', `${key}: "${text}" is not a host:port address`, {
      hint: 'expected e.g. "127.0.0.1:15008" or "[::1]:15008"',
    });
  }
  return { host, port };
}

export function formatSocketAddress(a: SocketAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
