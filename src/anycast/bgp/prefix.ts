// IP prefixes: parsed once from config text, and encoded/decoded in the
// compact NLRI form (length byte + only the significant octets, RFC 4271 §4.3).
import { isIP } from 'node:net';
import { EntenteError } from '../../core/errors.js';

export interface Prefix {
  readonly family: 4 | 6;
  /** Canonical text of the network address (host bits cleared). */
  readonly address: string;
  readonly length: number;
}

export function formatPrefix(p: Prefix): string {
  return `${p.address}/${p.length}`;
}

export function ipToBytes(text: string): Uint8Array {
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.').map(Number));
  if (family !== 6) throw new EntenteError('BAD_ADDRESS', `"${text}" is not an IP address`);
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const b = ipToBytes(part);
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(part, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff; });
  return bytes;
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function makePrefix(bytes: Uint8Array, length: number): Prefix {
  return { family: bytes.length === 4 ? 4 : 6, address: bytesToIp(maskBytes(bytes, length)), length };
}

/** Parses "203.0.113.10/32" or "2001:db8::/48"; host bits must be clear. */
export function parsePrefix(text: string, key = 'prefix'): Prefix {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? isIP(m[1]!) : 0;
  const length = m ? Number(m[2]) : NaN;
  if (!m || family === 0 || length > (family === 4 ? 32 : 128)) {
    throw new EntenteError('BAD_PREFIX', `${key}: "${text}" is not an IP prefix`, {
      hint: 'expected e.g. "203.0.113.10/32" or "2001:db8::/48"',
    });
  }
  const bytes = ipToBytes(m[1]!);
  const p = makePrefix(bytes, length);
  if (bytesToIp(bytes) !== p.address) {
    throw new EntenteError('BAD_PREFIX', `${key}: "${text}" has host bits set`, { hint: `did you mean "${formatPrefix(p)}"?` });
  }
  return p;
}

export function encodePrefixes(prefixes: readonly Prefix[]): Uint8Array {
  const parts: number[] = [];
  for (const p of prefixes) {
    const bytes = ipToBytes(p.address);
    parts.push(p.length, ...bytes.subarray(0, Math.ceil(p.length / 8)));
  }
  return Uint8Array.from(parts);
}

/** Decodes an NLRI/withdrawn field; undefined when a length overruns or exceeds the family's width. */
export function decodePrefixes(buf: Uint8Array, family: 4 | 6): Prefix[] | undefined {
  const width = family === 4 ? 4 : 16;
  const out: Prefix[] = [];
  let i = 0;
  while (i < buf.length) {
    const length = buf[i]!;
    const n = Math.ceil(length / 8);
    if (length > width * 8 || i + 1 + n > buf.length) return undefined;
    const bytes = new Uint8Array(width);
    bytes.set(buf.subarray(i + 1, i + 1 + n));
    out.push(makePrefix(bytes, length));
    i += 1 + n;
  }
  return out;
}
