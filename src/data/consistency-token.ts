// The consistency token of HTTP read-your-writes: the response to a write
// carries the primary's position after it ("e1.<hex>"); a read presenting it
// goes only to a member that has replayed at least that far. The token comes
// from a client, so it is checked strictly; it can only make that client's own
// reads more conservative (a position no replica has reached sends them to
// the primary), never route anyone else's.

const TOKEN = /^e1\.([0-9a-f]{1,16})$/;
const MAX = (1n << 64n) - 1n;

export function formatConsistencyToken(position: bigint): string {
  if (position < 0n || position > MAX) throw new RangeError(`position ${position} is outside 0..2^64-1`);
  return `e1.${position.toString(16)}`;
}

/** The position a token names, or an error in words (a malformed token is refused, not ignored). */
export function parseConsistencyToken(value: unknown): { ok: true; position: bigint } | { ok: false; reason: string } {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string') return { ok: false, reason: 'no token' };
  const m = TOKEN.exec(v.trim());
  if (!m) return { ok: false, reason: `consistency token ${JSON.stringify(v.slice(0, 40))} is not of the form e1.<hex position> (as a write's response gave it)` };
  return { ok: true, position: BigInt(`0x${m[1]}`) };
}
