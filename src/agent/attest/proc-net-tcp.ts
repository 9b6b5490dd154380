// Parses /proc/net/tcp and /proc/net/tcp6 (Linux): finds the client side of a
// connection the agent accepted, with the uid that created it and its inode.
// Pure text functions; the caller reads the files.

/** One row of /proc/net/tcp{,6}, addresses decoded. */
export interface TcpSocketRow {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Kernel TCP state (1 ESTABLISHED, 4 FIN_WAIT1, 5 FIN_WAIT2, 6 TIME_WAIT, 10 LISTEN, ...). */
  readonly state: number;
  /** The uid the socket was created with (sk_uid): the kernel's word, not the process's. */
  readonly uid: number;
  /** 0 once no file refers to the socket any more (orphaned, TIME_WAIT). */
  readonly inode: number;
}

export const TCP_ESTABLISHED = 1;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;

/** States of a client socket still held by its process: connected, or half-closed by the client (it sent its request and shut down writing). */
export const LIVE_CLIENT_STATES: ReadonlySet<number> = new Set([TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2]);

export interface SocketEnd {
  readonly address: string;
  readonly port: number;
}

/**
 * The kernel prints each 32-bit word of an address with %08X in host byte
 * order: 127.0.0.1 is "0100007F" on little-endian hosts, "7F000001" on
 * big-endian ones. Ports are printed after ntohs, so they read the same on both.
 */
function wordHex(bytes: readonly number[], littleEndian: boolean): string {
  const ordered = littleEndian ? [...bytes].reverse() : bytes;
  return ordered.map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

function ipv4Bytes(a: string): number[] | undefined {
  const parts = a.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** 16 bytes of an IPv6 literal ("::1", "fd00::7", "::ffff:10.0.0.1"); undefined if it is not one. */
export function ipv6Bytes(a: string): number[] | undefined {
  const text = a.replace(/%.*$/, '');
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = ipv4Bytes(item);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) out.push(parseInt(item, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** The IPv4 address inside "::ffff:a.b.c.d", or the address itself. */
export function unmapIpv4(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * "ADDR:PORT" as /proc/net/tcp prints it. `family` 6 writes an IPv4 address
 * in its v4-mapped form (a dual-stack socket talking IPv4). Undefined if the
 * address does not fit the family.
 */
export function encodeProcAddress(end: SocketEnd, family: 4 | 6, littleEndian: boolean): string | undefined {
  const plain = unmapIpv4(end.address);
  const v4 = ipv4Bytes(plain);
  let bytes: number[] | undefined;
  if (family === 4) bytes = v4;
  else bytes = v4 ? [...V4_MAPPED_PREFIX, ...v4] : ipv6Bytes(plain);
  if (!bytes || !Number.isInteger(end.port) || end.port < 0 || end.port > 65535) return undefined;
  let hex = '';
  for (let i = 0; i < bytes.length; i += 4) hex += wordHex(bytes.slice(i, i + 4), littleEndian);
  return `${hex}:${end.port.toString(16).toUpperCase().padStart(4, '0')}`;
}

function formatIpv6(bytes: readonly number[]): string {
  if (V4_MAPPED_PREFIX.every((b, i) => bytes[i] === b)) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: the longest run (of two or more) of zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** Decodes "0100007F:1F90" (8 hex digits: IPv4, 32: IPv6); undefined if malformed. */
export function parseProcAddress(text: string, littleEndian: boolean): SocketEnd | undefined {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const hex = m[1]!;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  const address = bytes.length === 4 ? bytes.join('.') : formatIpv6(bytes);
  return { address, port: parseInt(m[2]!, 16) };
}

/**
 * One data line: "  sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...".
 * Undefined for the header line or anything malformed.
 */
export function parseProcNetTcpLine(line: string, littleEndian: boolean): TcpSocketRow | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 10 || !/^\d+:$/.test(f[0]!)) return undefined;
  const local = parseProcAddress(f[1]!, littleEndian);
  const remote = parseProcAddress(f[2]!, littleEndian);
  if (!local || !remote || !/^[0-9A-Fa-f]{2}$/.test(f[3]!) || !/^\d+$/.test(f[7]!) || !/^\d+$/.test(f[9]!)) return undefined;
  return {
    localAddress: local.address,
    localPort: local.port,
    remoteAddress: remote.address,
    remotePort: remote.port,
    state: parseInt(f[3]!, 16),
    uid: Number(f[7]),
    inode: Number(f[9]),
  };
}

/**
 * The row of the socket whose local end is `client` and remote end `server`
 * in the text of one /proc/net/tcp{,6} file. Finds the line by its encoded
 * addresses first, so only that line is parsed however many sockets the host has.
 */
export function findSocketRow(text: string, family: 4 | 6, client: SocketEnd, server: SocketEnd, littleEndian: boolean): TcpSocketRow | undefined {
  const c = encodeProcAddress(client, family, littleEndian);
  const s = encodeProcAddress(server, family, littleEndian);
  if (!c || !s) return undefined;
  const key = `: ${c} ${s} `;
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    const start = text.lastIndexOf('\n', at) + 1;
    const end = text.indexOf('\n', at);
    const row = parseProcNetTcpLine(text.slice(start, end < 0 ? undefined : end), littleEndian);
    if (row) return row;
  }
  return undefined;
}
