// PostgreSQL write-ahead log positions (LSNs, "16/B374D848"): parsed once at
// the edge into a 64-bit byte offset, so positions compare and subtract as
// numbers everywhere else and a malformed one never gets past the probe.
import { EntenteError } from '../core/errors.js';

/** A WAL position: a byte offset in [0, 2^64). Only parseLsn and lsnFromBytes make one. */
export type Lsn = bigint & { readonly __brand: 'Lsn' };

const MAX = (1n << 64n) - 1n;
// PostgreSQL's own input rule (pg_lsn_in): two hex numbers of 1 to 8 digits, either case, a slash between.
const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const m = LSN.exec(text);
  if (!m) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw new EntenteError('BAD_LSN', `"${shown}" is not a PostgreSQL WAL position (LSN)`, {
      hint: 'expected two hexadecimal numbers of 1 to 8 digits with a slash between, as pg_current_wal_lsn() prints them, e.g. "16/B374D848"',
    });
  }
  return ((BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`)) as Lsn;
}

/** The LSN at a byte offset, which must be within PostgreSQL's 64-bit range. */
export function lsnFromBytes(bytes: bigint): Lsn {
  if (bytes < 0n || bytes > MAX) {
    throw new EntenteError('BAD_LSN', `${bytes} is outside the range of a WAL position (0 to 2^64-1)`, { hint: 'an LSN is an unsigned 64-bit byte offset' });
  }
  return bytes as Lsn;
}

/** PostgreSQL's spelling (pg_lsn_out): upper-case hex, no leading zeros, so format(parse(x)) is what the server would print. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Bytes of WAL from `from` to `to`: negative when `to` is behind `from`, like
 * PostgreSQL's pg_wal_lsn_diff(to, from). A lag is lsnDistance(replayed, primary).
 */
export function lsnDistance(from: Lsn, to: Lsn): bigint {
  return to - from;
}
