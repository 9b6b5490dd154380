// Incremental, bounds-checked parser for the TLS ClientHello a gateway peeks at:
// it extracts only the SNI host name and the ALPN list, never decrypts anything,
// and says precisely what was wrong when the bytes are not a ClientHello.

/** TLS plaintext records carry at most 2^14 bytes (RFC 8446 §5.1). */
export const MAX_RECORD_PAYLOAD = 16_384;
/** Default bound on the handshake message (header + body); bigger hellos are refused. */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = MAX_RECORD_PAYLOAD + 4;
/** A real client uses one or two records; many tiny records only cost us header parsing. */
export const MAX_CLIENT_HELLO_RECORDS = 64;

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const NAME_TYPE_HOST_NAME = 0;
// legacy_version(2) random(32) session_id(1+0) cipher_suites(2+2) compression(1+1)
const MIN_CLIENT_HELLO_BODY = 41;

export type ClientHelloParse =
  /** More bytes are needed; nothing can change before the buffer holds `needAtLeast` bytes. */
  | { kind: 'incomplete'; needAtLeast: number }
  /** `bytesParsed` covers every record that carried the ClientHello. */
  | { kind: 'ok'; serverName: string | undefined; alpn: string[]; bytesParsed: number }
  /** `notTls` is true when the very first record header is not TLS handshake, so no TLS alert makes sense. */
  | { kind: 'invalid'; reason: string; notTls: boolean };

export interface ClientHelloLimits {
  /** Largest accepted handshake message including its 4-byte header. */
  readonly maxBytes?: number;
}

class Malformed extends Error {}

/**
 * Parses `buf`, the bytes received so far on a connection, as the records that
 * carry a ClientHello. Pure and total: it never throws, and calling it again with
 * a longer buffer (same prefix) only ever moves from 'incomplete' to a final answer.
 */
export function parseClientHello(buf: Buffer, limits: ClientHelloLimits = {}): ClientHelloParse {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES;
  if (buf.length === 0) return { kind: 'incomplete', needAtLeast: 1 };
  if (buf[0] !== CONTENT_HANDSHAKE) return { kind: 'invalid', reason: describeForeignStart(buf), notTls: true };

  const fragments: Buffer[] = [];
  let collected = 0;
  let off = 0;
  for (let record = 1; ; record++) {
    const header = checkRecordHeader(buf, off, record);
    if (header.kind !== 'ok') return header;
    if (record > MAX_CLIENT_HELLO_RECORDS) {
      return invalid(`ClientHello split over more than ${MAX_CLIENT_HELLO_RECORDS} records`);
    }
    const payloadEnd = off + 5 + header.length;
    const fragment = buf.subarray(off + 5, Math.min(payloadEnd, buf.length));
    fragments.push(fragment);
    collected += fragment.length;
    const recordComplete = buf.length >= payloadEnd;

    // Judge the handshake header as soon as its bytes arrive, so garbage is refused early.
    const hs = fragments.length === 1 ? fragment : Buffer.concat(fragments, collected);
    if (hs.length >= 1 && hs[0] !== HANDSHAKE_CLIENT_HELLO) {
      return invalid(`handshake message type ${hs[0]} is not ClientHello (1)${handshakeTypeHint(hs[0]!)}`);
    }
    if (hs.length < 4) {
      if (recordComplete) { off = payloadEnd; continue; }
      return { kind: 'incomplete', needAtLeast: Math.min(payloadEnd, buf.length + 4 - hs.length) };
    }
    const bodyLength = hs.readUIntBE(1, 3);
    if (bodyLength + 4 > maxBytes) {
      return invalid(`ClientHello of ${bodyLength + 4} bytes exceeds the limit of ${maxBytes} bytes`);
    }
    if (bodyLength < MIN_CLIENT_HELLO_BODY) {
      return invalid(`ClientHello body of ${bodyLength} bytes is shorter than the minimum of ${MIN_CLIENT_HELLO_BODY}`);
    }
    if (!recordComplete) return { kind: 'incomplete', needAtLeast: payloadEnd };
    if (hs.length < bodyLength + 4) { off = payloadEnd; continue; }
    try {
      const { serverName, alpn } = parseBody(hs.subarray(4, 4 + bodyLength));
      return { kind: 'ok', serverName, alpn, bytesParsed: payloadEnd };
    } catch (err) {
      if (err instanceof Malformed) return invalid(err.message);
      throw err;
    }
  }
}

type HeaderCheck = { kind: 'ok'; length: number } | Extract<ClientHelloParse, { kind: 'incomplete' | 'invalid' }>;

/** Checks the record header at `off`, byte by byte as far as the buffer reaches. */
function checkRecordHeader(buf: Buffer, off: number, record: number): HeaderCheck {
  const avail = buf.length - off;
  if (avail <= 0) return { kind: 'incomplete', needAtLeast: off + 5 };
  const type = buf[off]!;
  if (type !== CONTENT_HANDSHAKE) {
    return invalid(`record ${record} has content type ${type} (${contentTypeName(type)}) before the ClientHello was complete`);
  }
  if (avail >= 3) {
    const version = buf.readUInt16BE(off + 1);
    if (version < 0x0300 || version > 0x0304) {
      return invalid(`record ${record} has legacy version 0x${hex(version, 4)}, not 0x0300-0x0304`, record === 1);
    }
  } else if (avail >= 2 && buf[off + 1] !== 3) {
    return invalid(`record ${record} has legacy version major byte 0x${hex(buf[off + 1]!, 2)}, not 0x03`, record === 1);
  }
  if (avail < 5) return { kind: 'incomplete', needAtLeast: off + 5 };
  const length = buf.readUInt16BE(off + 3);
  if (length === 0) return invalid(`record ${record} is an empty handshake record`);
  if (length > MAX_RECORD_PAYLOAD) {
    return invalid(`record ${record} length ${length} exceeds the TLS maximum of ${MAX_RECORD_PAYLOAD}`);
  }
  return { kind: 'ok', length };
}

function parseBody(body: Buffer): { serverName: string | undefined; alpn: string[] } {
  const r = new Cursor(body, 'ClientHello');
  const version = r.u16('legacy_version');
  if (version < 0x0300 || version > 0x0304) {
    throw new Malformed(`ClientHello legacy_version 0x${hex(version, 4)} is not 0x0300-0x0304`);
  }
  r.skip(32, 'random');
  const sessionIdLength = r.u8('session_id length');
  if (sessionIdLength > 32) throw new Malformed(`ClientHello session_id length ${sessionIdLength} exceeds 32`);
  r.skip(sessionIdLength, 'session_id');
  const suitesLength = r.u16('cipher_suites length');
  if (suitesLength < 2 || suitesLength % 2 !== 0) {
    throw new Malformed(`ClientHello cipher_suites length ${suitesLength} is not a positive even number`);
  }
  r.skip(suitesLength, 'cipher_suites');
  const compressionLength = r.u8('compression_methods length');
  if (compressionLength < 1) throw new Malformed('ClientHello offers no compression method');
  r.skip(compressionLength, 'compression_methods');

  let serverName: string | undefined;
  let alpn: string[] = [];
  if (r.remaining === 0) return { serverName, alpn }; // pre-TLS 1.2 hellos may omit extensions
  const extensionsLength = r.u16('extensions length');
  if (extensionsLength !== r.remaining) {
    throw new Malformed(`ClientHello extensions length ${extensionsLength} does not match the ${r.remaining} bytes that follow`);
  }
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const type = r.u16('extension type');
    const data = r.sub(r.u16(`extension ${type} length`), `extension ${type}`);
    if (seen.has(type)) throw new Malformed(`ClientHello repeats extension ${type}`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) serverName = parseServerName(data);
    else if (type === EXT_ALPN) alpn = parseAlpn(data);
  }
  return { serverName, alpn };
}

function parseServerName(ext: Cursor): string {
  const list = ext.sub(ext.u16('server_name list length'), 'server_name list');
  ext.expectEnd();
  if (list.remaining === 0) throw new Malformed('server_name extension has an empty list');
  let hostName: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.u8('server_name type');
    if (nameType !== NAME_TYPE_HOST_NAME) throw new Malformed(`server_name entry type ${nameType} is not host_name (0)`);
    const name = list.bytes(list.u16('host_name length'), 'host_name');
    if (hostName !== undefined) throw new Malformed('server_name lists more than one host_name');
    if (name.length === 0 || name.length > 255) throw new Malformed(`host_name length ${name.length} is not 1-255`);
    const bad = name.findIndex((b) => b < 0x21 || b > 0x7e);
    if (bad >= 0) throw new Malformed(`host_name contains byte 0x${hex(name[bad]!, 2)} (not printable ASCII)`);
    hostName = name.toString('latin1');
  }
  return hostName!;
}

function parseAlpn(ext: Cursor): string[] {
  const list = ext.sub(ext.u16('ALPN list length'), 'ALPN list');
  ext.expectEnd();
  if (list.remaining === 0) throw new Malformed('ALPN extension has an empty protocol list');
  const protocols: string[] = [];
  while (list.remaining > 0) {
    const length = list.u8('ALPN protocol length');
    if (length === 0) throw new Malformed('ALPN list contains an empty protocol name');
    protocols.push(list.bytes(length, 'ALPN protocol').toString('latin1'));
  }
  return protocols;
}

/** A bounds-checked reader over a slice; every overrun becomes a Malformed naming the field. */
class Cursor {
  private pos = 0;
  constructor(private readonly buf: Buffer, private readonly where: string) {}
  get remaining(): number { return this.buf.length - this.pos; }
  private need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new Malformed(`${this.where} ends inside ${field} (needs ${n} bytes, ${this.remaining} left)`);
    }
  }
  u8(field: string): number { this.need(1, field); return this.buf[this.pos++]!; }
  u16(field: string): number { this.need(2, field); const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  skip(n: number, field: string): void { this.need(n, field); this.pos += n; }
  bytes(n: number, field: string): Buffer { this.need(n, field); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  sub(n: number, field: string): Cursor { return new Cursor(this.bytes(n, field), field); }
  expectEnd(): void {
    if (this.remaining !== 0) throw new Malformed(`${this.where} has ${this.remaining} unexpected trailing bytes`);
  }
}

function invalid(reason: string, notTls = false): ClientHelloParse & { kind: 'invalid' } {
  return { kind: 'invalid', reason, notTls };
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

const HTTP_METHOD_STARTS = new Set('GPHDOCT'.split('').map((c) => c.charCodeAt(0)));

/** Names what a connection that does not open with a handshake record probably is. */
function describeForeignStart(buf: Buffer): string {
  const first = buf[0]!;
  const prefix = `not a TLS handshake record (first byte 0x${hex(first, 2)}`;
  if (HTTP_METHOD_STARTS.has(first)) return `${prefix}: looks like plaintext HTTP)`;
  if (first >= 0x20 && first < 0x7f) return `${prefix}: looks like a plaintext protocol)`;
  if (first >= 20 && first <= 24) return `${prefix}: a TLS ${contentTypeName(first)} record, not a handshake)`;
  if (first & 0x80 && (buf.length < 3 || buf[2] === 1)) return `${prefix}: looks like an SSLv2-format ClientHello, unsupported)`;
  return `${prefix})`;
}

function contentTypeName(type: number): string {
  switch (type) {
    case 20: return 'change_cipher_spec';
    case 21: return 'alert';
    case 22: return 'handshake';
    case 23: return 'application_data';
    case 24: return 'heartbeat';
    default: return 'unknown';
  }
}

function handshakeTypeHint(type: number): string {
  return type === 2 ? ' (a ServerHello: is the peer a TLS server?)' : '';
}
