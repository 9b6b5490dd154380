// OPEN message body (RFC 4271 §4.2) with capabilities (RFC 5492): multiprotocol
// (RFC 4760), route refresh (RFC 2918) and 4-octet AS numbers (RFC 6793).
import { BGP_VERSION, CapabilityCode, ErrorCode, OPT_PARAM_CAPABILITIES, OpenSubcode } from './constants.js';
import { type Capabilities, type Decoded, type OpenMessage, fail, ok } from './messages.js';
import { bytesToIp, ipToBytes } from './prefix.js';

function encodeCapabilities(c: Capabilities): Buffer {
  const caps: Buffer[] = [];
  const cap = (code: number, value: Uint8Array): void => {
    caps.push(Buffer.concat([Buffer.from([code, value.length]), value]));
  };
  for (const mp of c.multiprotocol) cap(CapabilityCode.MULTIPROTOCOL, Buffer.from([mp.afi >> 8, mp.afi & 0xff, 0, mp.safi]));
  if (c.routeRefresh) cap(CapabilityCode.ROUTE_REFRESH, new Uint8Array(0));
  if (c.fourOctetAs !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(c.fourOctetAs);
    cap(CapabilityCode.FOUR_OCTET_AS, v);
  }
  for (const u of c.unknown) cap(u.code, u.value);
  return Buffer.concat(caps);
}

export function encodeOpenBody(m: OpenMessage): Buffer {
  const caps = encodeCapabilities(m.capabilities);
  const params = caps.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([OPT_PARAM_CAPABILITIES, caps.length]), caps]);
  const head = Buffer.alloc(10);
  head.writeUInt8(m.version, 0);
  head.writeUInt16BE(m.myAs, 1);
  head.writeUInt16BE(m.holdTime, 3);
  Buffer.from(ipToBytes(m.bgpId)).copy(head, 5);
  head.writeUInt8(params.length, 9);
  return Buffer.concat([head, params]);
}

function decodeCapabilities(buf: Buffer, into: { mp: { afi: number; safi: number }[]; rr: boolean; as4: number | undefined; unknown: { code: number; value: Uint8Array }[] }): boolean {
  let i = 0;
  while (i < buf.length) {
    if (i + 2 > buf.length) return false;
    const code = buf[i]!;
    const len = buf[i + 1]!;
    if (i + 2 + len > buf.length) return false;
    const v = buf.subarray(i + 2, i + 2 + len);
    if (code === CapabilityCode.MULTIPROTOCOL) {
      if (len !== 4) return false;
      into.mp.push({ afi: v.readUInt16BE(0), safi: v[3]! });
    } else if (code === CapabilityCode.ROUTE_REFRESH) {
      if (len !== 0) return false;
      into.rr = true;
    } else if (code === CapabilityCode.FOUR_OCTET_AS) {
      if (len !== 4) return false;
      into.as4 = v.readUInt32BE(0);
    } else {
      // RFC 5492 §5: unknown capabilities are ignored, not refused.
      into.unknown.push({ code, value: Uint8Array.from(v) });
    }
    i += 2 + len;
  }
  return true;
}

/** Decodes an OPEN body; the caller checks the peer AS against its configuration. */
export function decodeOpenBody(body: Buffer): Decoded<OpenMessage> {
  if (body.length < 10) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC);
  const version = body[0]!;
  if (version !== BGP_VERSION) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSUPPORTED_VERSION, Uint8Array.from([0, BGP_VERSION]));
  const myAs = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  // RFC 4271 §6.2: a hold time of one or two seconds MUST be rejected.
  if (holdTime === 1 || holdTime === 2) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNACCEPTABLE_HOLD_TIME);
  const bgpId = bytesToIp(body.subarray(5, 9));
  if (body.readUInt32BE(5) === 0) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_BGP_IDENTIFIER);
  const optLen = body[9]!;
  if (10 + optLen !== body.length) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC);
  const caps = { mp: [] as { afi: number; safi: number }[], rr: false, as4: undefined as number | undefined, unknown: [] as { code: number; value: Uint8Array }[] };
  let i = 10;
  while (i < body.length) {
    if (i + 2 > body.length) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC);
    const type = body[i]!;
    const len = body[i + 1]!;
    if (i + 2 + len > body.length) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC);
    if (type !== OPT_PARAM_CAPABILITIES) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER);
    if (!decodeCapabilities(body.subarray(i + 2, i + 2 + len), caps)) return fail(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC);
    i += 2 + len;
  }
  return ok({
    type: 'open',
    version,
    myAs,
    holdTime,
    bgpId,
    capabilities: { multiprotocol: caps.mp, routeRefresh: caps.rr, fourOctetAs: caps.as4, unknown: caps.unknown },
  });
}
