// The parts of an X.509 certificate SVID verification decides on (RFC 5280
// 4.1: validity, subject, extensions), read from its DER: the agent checks every
// peer chain, and an X.509 library would cost it ~10 MB (docs/dataplane.md "Footprint").
import { readChildren, readTlv, type Tlv } from './der.js';

export interface CertExtension {
  /** Dotted OID. */
  readonly oid: string;
  readonly critical: boolean;
  /** The content of extnValue (the extension's own DER). */
  readonly value: Uint8Array;
}

export interface CertDer {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** The subject Name has no RDN at all. */
  readonly subjectEmpty: boolean;
  readonly extensions: readonly CertExtension[];
}

const SEQUENCE = 0x30;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID_TAG = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const VERSION_TAG = 0xa0; // [0] EXPLICIT
const EXTENSIONS_TAG = 0xa3; // [3] EXPLICIT

/** The single element `bytes` must consist of, or undefined. */
function whole(bytes: Uint8Array, tag: number): Tlv | undefined {
  const t = readTlv(bytes, 0);
  return t && t.tag === tag && t.end === bytes.length ? t : undefined;
}

function readBoolean(t: Tlv): boolean | undefined {
  if (t.tag !== BOOLEAN || t.value.length !== 1) return undefined;
  return t.value[0] !== 0;
}

/** A dotted OID from an OBJECT IDENTIFIER's content. */
export function decodeOid(v: Uint8Array): string | undefined {
  if (v.length === 0 || (v[v.length - 1]! & 0x80) !== 0) return undefined;
  const arcs: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (n === 0 && v[i] === 0x80) return undefined; // non-minimal arc
    n = n * 128 + (v[i]! & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if ((v[i]! & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    }
  }
  return arcs.join('.');
}

/** UTCTime (YYMMDDHHMMSSZ, 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), the forms RFC 5280 4.1.2.5 allows. */
export function decodeTime(t: Tlv): number | undefined {
  const s = Buffer.from(t.value).toString('latin1');
  const m = t.tag === UTC_TIME ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : t.tag === GENERALIZED_TIME ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : null;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const fullYear = t.tag === UTC_TIME ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  const ms = Date.UTC(fullYear, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  // Date.UTC rolls 31 February over into March: refuse dates that are not dates.
  if (d.getUTCFullYear() !== fullYear || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return ms;
}

function decodeExtension(t: Tlv): CertExtension | undefined {
  if (t.tag !== SEQUENCE) return undefined;
  const parts = readChildren(t.value);
  if (!parts || parts.length < 2 || parts.length > 3 || parts[0]!.tag !== OID_TAG) return undefined;
  const oid = decodeOid(parts[0]!.value);
  const critical = parts.length === 3 ? readBoolean(parts[1]!) : false;
  const value = parts[parts.length - 1]!;
  if (oid === undefined || critical === undefined || value.tag !== OCTET_STRING) return undefined;
  return { oid, critical, value: value.value };
}

/** Reads a certificate's DER; undefined when it is not a certificate as RFC 5280 4.1 lays it out. */
export function readCertDer(der: Uint8Array): CertDer | undefined {
  const cert = whole(der, SEQUENCE);
  const top = cert && readChildren(cert.value);
  if (!top || top.length !== 3 || top[0]!.tag !== SEQUENCE) return undefined;
  const tbs = readChildren(top[0]!.value);
  if (!tbs) return undefined;
  let i = tbs[0]?.tag === VERSION_TAG ? 1 : 0;
  const [serial, signature, issuer, validity, subject, spki] = tbs.slice(i, i + 6);
  if (serial?.tag !== INTEGER || signature?.tag !== SEQUENCE || issuer?.tag !== SEQUENCE || validity?.tag !== SEQUENCE || subject?.tag !== SEQUENCE || spki?.tag !== SEQUENCE) return undefined;
  i += 6;
  const times = readChildren(validity.value);
  const notBeforeMs = times?.length === 2 ? decodeTime(times[0]!) : undefined;
  const notAfterMs = times?.length === 2 ? decodeTime(times[1]!) : undefined;
  const rdns = readChildren(subject.value);
  if (notBeforeMs === undefined || notAfterMs === undefined || !rdns) return undefined;
  // issuerUniqueID [1] and subjectUniqueID [2], primitive or constructed, then extensions [3].
  while (i < tbs.length && [0x81, 0x82, 0xa1, 0xa2].includes(tbs[i]!.tag)) i++;
  const extensions: CertExtension[] = [];
  if (i < tbs.length) {
    if (tbs[i]!.tag !== EXTENSIONS_TAG || i !== tbs.length - 1) return undefined;
    const list = whole(tbs[i]!.value, SEQUENCE);
    const items = list && readChildren(list.value);
    if (!items) return undefined;
    for (const it of items) {
      const e = decodeExtension(it);
      if (!e) return undefined;
      extensions.push(e);
    }
  }
  return { notBeforeMs, notAfterMs, subjectEmpty: rdns.length === 0, extensions };
}

/** BasicConstraints (RFC 5280 4.2.1.9): cA defaults to false; pathLenConstraint is optional. */
export function decodeBasicConstraints(value: Uint8Array): { ca: boolean; pathLength: number | undefined } | undefined {
  const seq = whole(value, SEQUENCE);
  const parts = seq && readChildren(seq.value);
  if (!parts || parts.length > 2) return undefined;
  let ca = false;
  let rest = parts;
  if (rest[0]?.tag === BOOLEAN) {
    const b = readBoolean(rest[0]);
    if (b === undefined) return undefined;
    ca = b;
    rest = rest.slice(1);
  }
  if (rest.length === 0) return { ca, pathLength: undefined };
  const n = rest[0]!;
  if (rest.length !== 1 || n.tag !== INTEGER || n.value.length === 0 || n.value.length > 4 || (n.value[0]! & 0x80) !== 0) return undefined;
  return { ca, pathLength: n.value.reduce((acc, b) => acc * 256 + b, 0) };
}

/** KeyUsage (RFC 5280 4.2.1.3) as flags: bit n of the BIT STRING (n = 0 is digitalSignature) is 1 << n. */
export function decodeKeyUsage(value: Uint8Array): number | undefined {
  const bits = whole(value, BIT_STRING);
  if (!bits || bits.value.length === 0) return undefined;
  const unused = bits.value[0]!;
  const bytes = bits.value.subarray(1);
  if (unused > 7 || (bytes.length === 0 && unused !== 0)) return undefined;
  let flags = 0;
  const count = bytes.length * 8 - unused;
  for (let n = 0; n < count && n < 31; n++) if (bytes[n >> 3]! & (0x80 >> (n & 7))) flags |= 1 << n;
  return flags;
}

/** ExtKeyUsageSyntax (RFC 5280 4.2.1.12): a SEQUENCE of at least one KeyPurposeId, as dotted OIDs. */
export function decodeExtKeyUsage(value: Uint8Array): string[] | undefined {
  const seq = whole(value, SEQUENCE);
  const items = seq && readChildren(seq.value);
  if (!items || items.length === 0) return undefined;
  const out: string[] = [];
  for (const it of items) {
    const oid = it.tag === OID_TAG ? decodeOid(it.value) : undefined;
    if (oid === undefined) return undefined;
    out.push(oid);
  }
  return out;
}
