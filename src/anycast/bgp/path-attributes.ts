// Path attributes (RFC 4271 §4.3, §5, §6.3) including MP_REACH/MP_UNREACH
// (RFC 4760), AS4_PATH (RFC 6793) and COMMUNITIES (RFC 1997). Decoding checks
// flags and lengths per type and names the exact UPDATE error subcode.
import { Afi, AsPathSegmentType, AttrFlag, AttrType, ErrorCode, UpdateSubcode } from './constants.js';
import type { AsPathSegment, CodecContext, Decoded, MpReach, MpUnreach, PathAttributes } from './messages.js';
import { fail, ok } from './messages.js';
import { bytesToIp, decodePrefixes, encodePrefixes, ipToBytes } from './prefix.js';

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPTIONAL_TRANSITIVE = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = AttrFlag.OPTIONAL;

/** The optional/transitive bits each attribute we interpret must carry. */
const EXPECTED_FLAGS: Record<number, number> = {
  [AttrType.ORIGIN]: WELL_KNOWN,
  [AttrType.AS_PATH]: WELL_KNOWN,
  [AttrType.NEXT_HOP]: WELL_KNOWN,
  [AttrType.MULTI_EXIT_DISC]: OPTIONAL_NON_TRANSITIVE,
  [AttrType.LOCAL_PREF]: WELL_KNOWN,
  [AttrType.ATOMIC_AGGREGATE]: WELL_KNOWN,
  [AttrType.COMMUNITIES]: OPTIONAL_TRANSITIVE,
  [AttrType.MP_REACH_NLRI]: OPTIONAL_NON_TRANSITIVE,
  [AttrType.MP_UNREACH_NLRI]: OPTIONAL_NON_TRANSITIVE,
  [AttrType.AS4_PATH]: OPTIONAL_TRANSITIVE,
};

function attr(flags: number, type: number, value: Uint8Array): Buffer {
  const ext = value.length > 255;
  const head = ext
    ? Buffer.from([flags | AttrFlag.EXTENDED_LENGTH, type, value.length >> 8, value.length & 0xff])
    : Buffer.from([flags & ~AttrFlag.EXTENDED_LENGTH, type, value.length]);
  return Buffer.concat([head, value]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function encodeAsPath(segments: readonly AsPathSegment[], fourOctet: boolean): Buffer {
  const width = fourOctet ? 4 : 2;
  const out: Buffer[] = [];
  for (const s of segments) {
    // A segment holds at most 255 ASNs; longer sequences are split.
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      const b = Buffer.alloc(2 + chunk.length * width);
      b[0] = s.type;
      b[1] = chunk.length;
      chunk.forEach((asn, j) => (fourOctet ? b.writeUInt32BE(asn, 2 + 4 * j) : b.writeUInt16BE(asn, 2 + 2 * j)));
      out.push(b);
    }
  }
  return Buffer.concat(out);
}

export function decodeAsPath(buf: Buffer, fourOctet: boolean): AsPathSegment[] | undefined {
  const width = fourOctet ? 4 : 2;
  const out: AsPathSegment[] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 2 > buf.length) return undefined;
    const type = buf[i]!;
    const count = buf[i + 1]!;
    if ((type !== AsPathSegmentType.AS_SET && type !== AsPathSegmentType.AS_SEQUENCE) || count === 0) return undefined;
    if (i + 2 + count * width > buf.length) return undefined;
    const asns: number[] = [];
    for (let j = 0; j < count; j++) asns.push(fourOctet ? buf.readUInt32BE(i + 2 + 4 * j) : buf.readUInt16BE(i + 2 + 2 * j));
    out.push({ type, asns });
    i += 2 + count * width;
  }
  return out;
}

function encodeMpReach(m: MpReach): Buffer {
  const nh = Buffer.concat(m.nextHops.map((h) => ipToBytes(h)));
  return Buffer.concat([Buffer.from([m.afi >> 8, m.afi & 0xff, m.safi, nh.length]), nh, Buffer.from([0]), encodePrefixes(m.nlri)]);
}

function encodeMpUnreach(m: MpUnreach): Buffer {
  return Buffer.concat([Buffer.from([m.afi >> 8, m.afi & 0xff, m.safi]), encodePrefixes(m.withdrawn)]);
}

export function encodePathAttributes(a: PathAttributes, ctx: CodecContext): Buffer {
  const parts: Buffer[] = [];
  if (a.origin !== undefined) parts.push(attr(WELL_KNOWN, AttrType.ORIGIN, Buffer.from([a.origin])));
  if (a.asPath !== undefined) parts.push(attr(WELL_KNOWN, AttrType.AS_PATH, encodeAsPath(a.asPath, ctx.fourOctetAs)));
  if (a.nextHop !== undefined) parts.push(attr(WELL_KNOWN, AttrType.NEXT_HOP, ipToBytes(a.nextHop)));
  if (a.med !== undefined) parts.push(attr(OPTIONAL_NON_TRANSITIVE, AttrType.MULTI_EXIT_DISC, u32(a.med)));
  if (a.localPref !== undefined) parts.push(attr(WELL_KNOWN, AttrType.LOCAL_PREF, u32(a.localPref)));
  if (a.atomicAggregate) parts.push(attr(WELL_KNOWN, AttrType.ATOMIC_AGGREGATE, new Uint8Array(0)));
  if (a.communities !== undefined) parts.push(attr(OPTIONAL_TRANSITIVE, AttrType.COMMUNITIES, Buffer.concat(a.communities.map(u32))));
  if (a.mpReach !== undefined) parts.push(attr(OPTIONAL_NON_TRANSITIVE, AttrType.MP_REACH_NLRI, encodeMpReach(a.mpReach)));
  if (a.mpUnreach !== undefined) parts.push(attr(OPTIONAL_NON_TRANSITIVE, AttrType.MP_UNREACH_NLRI, encodeMpUnreach(a.mpUnreach)));
  if (a.as4Path !== undefined) parts.push(attr(OPTIONAL_TRANSITIVE, AttrType.AS4_PATH, encodeAsPath(a.as4Path, true)));
  for (const o of a.other ?? []) parts.push(attr(o.flags, o.type, o.value));
  return Buffer.concat(parts);
}

function familyOf(afi: number): 4 | 6 | undefined {
  return afi === Afi.IPV4 ? 4 : afi === Afi.IPV6 ? 6 : undefined;
}

function decodeMpReach(v: Buffer): MpReach | undefined {
  if (v.length < 5) return undefined;
  const afi = v.readUInt16BE(0);
  const family = familyOf(afi);
  const nhLen = v[3]!;
  if (family === undefined || 4 + nhLen + 1 > v.length) return undefined;
  const width = family === 4 ? 4 : 16;
  if (nhLen !== width && nhLen !== 2 * width) return undefined;
  const nextHops = [bytesToIp(v.subarray(4, 4 + width))];
  if (nhLen === 2 * width) nextHops.push(bytesToIp(v.subarray(4 + width, 4 + 2 * width)));
  const nlri = decodePrefixes(v.subarray(4 + nhLen + 1), family);
  return nlri && { afi, safi: v[2]!, nextHops, nlri };
}

function decodeMpUnreach(v: Buffer): MpUnreach | undefined {
  if (v.length < 3) return undefined;
  const afi = v.readUInt16BE(0);
  const family = familyOf(afi);
  const withdrawn = family && decodePrefixes(v.subarray(3), family);
  return withdrawn && { afi, safi: v[2]!, withdrawn };
}

function isBadNextHop(b: Buffer): boolean {
  const n = b.readUInt32BE(0);
  return n === 0 || n === 0xffffffff || (b[0]! >= 224 && b[0]! <= 239);
}

/**
 * Decodes the path attribute section. Errors carry the offending attribute
 * (flags, type, length, value) as NOTIFICATION data, as RFC 4271 §6.3 asks.
 */
export function decodePathAttributes(buf: Buffer, ctx: CodecContext): Decoded<PathAttributes> {
  const err = (subcode: number, data: Uint8Array = new Uint8Array(0)): Decoded<PathAttributes> => fail(ErrorCode.UPDATE_MESSAGE, subcode, data);
  const a: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {};
  const other: { flags: number; type: number; value: Uint8Array }[] = [];
  const seen = new Set<number>();
  let i = 0;
  while (i < buf.length) {
    if (i + 3 > buf.length) return err(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
    const flags = buf[i]!;
    const type = buf[i + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    if (ext && i + 4 > buf.length) return err(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
    const len = ext ? buf.readUInt16BE(i + 2) : buf[i + 2]!;
    const start = i + (ext ? 4 : 3);
    if (start + len > buf.length) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, Uint8Array.from(buf.subarray(i)));
    const whole = Uint8Array.from(buf.subarray(i, start + len));
    const v = buf.subarray(start, start + len);
    i = start + len;
    if (seen.has(type)) return err(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
    seen.add(type);
    const expected = EXPECTED_FLAGS[type];
    if (expected === undefined) {
      if ((flags & AttrFlag.OPTIONAL) === 0) return err(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, whole);
      other.push({ flags: flags & ~AttrFlag.EXTENDED_LENGTH, type, value: Uint8Array.from(v) });
      continue;
    }
    if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== expected) return err(UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, whole);
    const fixed = (n: number): boolean => len === n;
    switch (type) {
      case AttrType.ORIGIN:
        if (!fixed(1)) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, whole);
        if (v[0]! > 2) return err(UpdateSubcode.INVALID_ORIGIN, whole);
        a.origin = v[0] as 0 | 1 | 2;
        break;
      case AttrType.AS_PATH: {
        const p = decodeAsPath(v, ctx.fourOctetAs);
        if (!p) return err(UpdateSubcode.MALFORMED_AS_PATH);
        a.asPath = p;
        break;
      }
      case AttrType.NEXT_HOP:
        if (!fixed(4)) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, whole);
        if (isBadNextHop(v)) return err(UpdateSubcode.INVALID_NEXT_HOP, whole);
        a.nextHop = bytesToIp(v);
        break;
      case AttrType.MULTI_EXIT_DISC:
        if (!fixed(4)) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, whole);
        a.med = v.readUInt32BE(0);
        break;
      case AttrType.LOCAL_PREF:
        if (!fixed(4)) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, whole);
        a.localPref = v.readUInt32BE(0);
        break;
      case AttrType.ATOMIC_AGGREGATE:
        if (!fixed(0)) return err(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, whole);
        a.atomicAggregate = true;
        break;
      case AttrType.COMMUNITIES:
        if (len % 4 !== 0) return err(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, whole);
        a.communities = Array.from({ length: len / 4 }, (_, k) => v.readUInt32BE(4 * k));
        break;
      case AttrType.MP_REACH_NLRI: {
        const m = decodeMpReach(v);
        if (!m) return err(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, whole);
        a.mpReach = m;
        break;
      }
      case AttrType.MP_UNREACH_NLRI: {
        const m = decodeMpUnreach(v);
        if (!m) return err(UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, whole);
        a.mpUnreach = m;
        break;
      }
      case AttrType.AS4_PATH: {
        const p = decodeAsPath(v, true);
        if (!p) return err(UpdateSubcode.MALFORMED_AS_PATH);
        a.as4Path = p;
        break;
      }
    }
  }
  if (other.length > 0) a.other = other;
  return ok(a);
}
