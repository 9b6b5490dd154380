// A minimal DER reader, just enough to walk GeneralNames ourselves: the X.509
// library refuses to parse a SAN holding otherName and friends, and an SVID MAY
// carry any other SAN types (X509-SVID section 2), so we must not choke on them.

export interface Tlv {
  /** The full identifier octet (class, constructed bit and tag number < 31). */
  readonly tag: number;
  readonly value: Uint8Array;
  /** Offset just past this element. */
  readonly end: number;
}

/** Reads one element at `offset`; undefined when the bytes are not well-formed DER. */
export function readTlv(buf: Uint8Array, offset: number): Tlv | undefined {
  if (offset + 2 > buf.length) return undefined;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tag numbers never occur here
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) return undefined;
  return { tag, value: buf.subarray(p, p + len), end: p + len };
}

/** The children of a constructed element's content, or undefined if they do not tile it exactly. */
export function readChildren(content: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let p = 0;
  while (p < content.length) {
    const t = readTlv(content, p);
    if (!t) return undefined;
    out.push(t);
    p = t.end;
  }
  return out;
}

export interface GeneralNameCounts {
  readonly uris: string[];
  readonly dnsNames: string[];
  /** Names of every other type (otherName, email, directoryName, IP, ...). */
  readonly others: number;
}

const URI_TAG = 0x86; // [6] IMPLICIT IA5String
const DNS_TAG = 0x82; // [2] IMPLICIT IA5String

/** Splits a DER GeneralNames SEQUENCE (a SAN extension value) into its names. */
export function parseGeneralNames(der: Uint8Array): GeneralNameCounts | undefined {
  const seq = readTlv(der, 0);
  if (!seq || seq.tag !== 0x30 || seq.end !== der.length) return undefined;
  const items = readChildren(seq.value);
  if (!items) return undefined;
  const uris: string[] = [];
  const dnsNames: string[] = [];
  let others = 0;
  for (const it of items) {
    if (it.tag === URI_TAG || it.tag === DNS_TAG) {
      // IA5String is 7-bit; anything else is a malformed name, not a name to match.
      if (it.value.some((b) => b > 0x7f)) return undefined;
      const s = Buffer.from(it.value).toString('latin1');
      (it.tag === URI_TAG ? uris : dnsNames).push(s);
    } else {
      others++;
    }
  }
  return { uris, dnsNames, others };
}
