// The two one-line preambles a gateway reads before a ClientHello. Neither can
// be mistaken for TLS (a TLS record starts with byte 0x16, these with "E"):
//  - a reachability probe from a peer region's gateway: answered at once with
//    this region's name, then closed (no route, no upstream);
//  - a relay marker, written by a gateway that relays a connection for another
//    region: the ClientHello follows, and the connection may only be routed to
//    this region's own agents, never relayed again (one hop, so no loops).
// Pure: parsing and formatting only.

export const PROBE_PREFIX = 'ENTENTE-PROBE 1 ';
export const PROBE_ANSWER_PREFIX = 'ENTENTE-PROBE-OK 1 ';
export const RELAY_PREFIX = 'ENTENTE-RELAY 1 ';
/** A preamble line is at most this long, newline included: anything longer is refused. */
export const MAX_PREAMBLE_BYTES = 128;

const NONCE = /^[0-9a-f]{16}$/;
const REGION = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const FIRST_BYTE = 0x45; // "E"

export type Preamble =
  /** The bytes start like TLS (or anything but "E"): there is no preamble. */
  | { readonly kind: 'none' }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'probe'; readonly nonce: string }
  /** `length`: the bytes of the preamble line, to skip before the ClientHello. */
  | { readonly kind: 'relay'; readonly from: string; readonly length: number }
  | { readonly kind: 'invalid'; readonly reason: string };

export function parsePreamble(bytes: Buffer): Preamble {
  if (bytes.length === 0) return { kind: 'incomplete' };
  if (bytes[0] !== FIRST_BYTE) return { kind: 'none' };
  const end = bytes.indexOf(0x0a);
  if (end < 0) {
    return bytes.length >= MAX_PREAMBLE_BYTES
      ? { kind: 'invalid', reason: `no newline in the first ${MAX_PREAMBLE_BYTES} bytes of a preamble` }
      : { kind: 'incomplete' };
  }
  if (end + 1 > MAX_PREAMBLE_BYTES) return { kind: 'invalid', reason: `preamble line longer than ${MAX_PREAMBLE_BYTES} bytes` };
  const line = bytes.subarray(0, end).toString('latin1');
  if (line.startsWith(PROBE_PREFIX)) {
    const nonce = line.slice(PROBE_PREFIX.length);
    return NONCE.test(nonce) ? { kind: 'probe', nonce } : { kind: 'invalid', reason: 'probe nonce is not 16 hex digits' };
  }
  if (line.startsWith(RELAY_PREFIX)) {
    const from = line.slice(RELAY_PREFIX.length);
    return REGION.test(from) ? { kind: 'relay', from, length: end + 1 } : { kind: 'invalid', reason: 'relay marker names no valid region' };
  }
  return { kind: 'invalid', reason: 'neither a TLS ClientHello nor a known preamble' };
}

export function probeLine(nonce: string): string {
  return `${PROBE_PREFIX}${nonce}\n`;
}

export function probeAnswer(nonce: string, region: string): string {
  return `${PROBE_ANSWER_PREFIX}${nonce} ${region}\n`;
}

/** The region named by a probe answer for this nonce, or undefined when the answer is not one. */
export function parseProbeAnswer(text: string, nonce: string): string | undefined {
  const end = text.indexOf('\n');
  if (end < 0) return undefined;
  const line = text.slice(0, end);
  const prefix = `${PROBE_ANSWER_PREFIX}${nonce} `;
  if (!line.startsWith(prefix)) return undefined;
  const region = line.slice(prefix.length);
  return REGION.test(region) ? region : undefined;
}

export function relayLine(from: string): string {
  return `${RELAY_PREFIX}${from}\n`;
}
