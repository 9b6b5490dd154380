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

/**
 * The canonical text of an IP literal (IPv4 dotted decimal, IPv6 compressed
 * lower-case, an IPv4-mapped IPv6 address as its IPv4), or undefined for
 * anything else: names, zone IDs, octal or short IPv4 forms.
 */
export function canonicalIp(text: string): string | undefined {
  const t = text.trim();
  const v = isIP(t);
  if (v === 4) return t;
  if (v !== 6 || t.includes('%')) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(t);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1];
  try {
    const host = new URL(`http://[${t}]`).hostname.slice(1, -1);
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (hex) {
      const hi = parseInt(hex[1]!, 16);
      const lo = parseInt(hex[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return host;
  } catch {
    return undefined;
  }
}

/** 0.0.0.0 and ::, which a listener binds to mean "every address" and nobody can dial. */
export function isUnspecifiedIp(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/**
 * Whether two socket addresses can reach the same listener: same port, and the
 * same host, or one of them a wildcard listener and the other an address of
 * this host (`isLocal`). Hosts that are not IP literals compare as given.
 */
export function sameListener(a: SocketAddress, b: SocketAddress, isLocal: (ip: string) => boolean): boolean {
  if (a.port !== b.port) return false;
  const ha = canonicalIp(a.host) ?? a.host.toLowerCase();
  const hb = canonicalIp(b.host) ?? b.host.toLowerCase();
  if (ha === hb) return true;
  return (isUnspecifiedIp(ha) && isLocal(hb)) || (isUnspecifiedIp(hb) && isLocal(ha));
}
