// Asks one PostgreSQL server, over SQL, whether it is the primary or a
// replica and how far its WAL has got; and, as a pure function of two such
// answers, how far a replica lags. The data path's view of replication.
//
// One short-lived connection per probe, not a kept client: a probe must say
// whether the server takes connections *now*, which a fresh connection proves
// and a kept one does not (it survives max_connections, pg_hba.conf and
// authentication changes, and a half-open path looks alive until TCP gives
// up); it also leaves no reconnect state to get wrong around a restart or a
// promotion. The price is a backend start per probe (a few ms of server CPU),
// and two more round trips, which is why targets are meant to be probed from
// near them (their own region) at an interval of a second or more.
import { Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { parseLsn, type Lsn } from './lsn.js';

export interface PgProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** A file holding the password (one line); read on each probe that the server asks for one, so a rotated password is picked up. */
  readonly passwordFile?: string;
}

export interface PgProbeOptions {
  /** The whole probe, connection to answer, ends within this; also the server's statement_timeout. */
  readonly timeoutMs: number;
}

/** Stable codes of why a server could not be probed; the message names the server and says what to check. */
export type PgProbeErrorCode =
  | 'PG_TIMEOUT' // no answer within timeoutMs
  | 'PG_CONNECT' // refused, unresolvable, reset or closed by the server
  | 'PG_AUTH' // the server refused the login (pg_hba.conf, user, password, database)
  | 'PG_PASSWORD_FILE' // the password file could not be read, or is empty
  | 'PG_UNAVAILABLE' // the server is starting, shutting down or out of connections
  | 'PG_QUERY' // the probe query failed
  | 'PG_BAD_REPLY' // the answer did not make sense (an LSN that does not parse, a missing position)
  | 'PG_CONFIG'; // the target or options themselves are invalid

export interface PgProbeError {
  readonly code: PgProbeErrorCode;
  readonly message: string;
}

export interface ReplicaPosition {
  /** Last WAL position received and flushed by the WAL receiver; null when streaming has not started (e.g. the primary is down). */
  readonly receiveLsn: Lsn | null;
  /** Last WAL position replayed: what queries on the replica see. */
  readonly replayLsn: Lsn;
  /** Commit time (on the primary's clock) of the last transaction replayed; null when none has been since the replica started. */
  readonly replayTimestamp: Date | null;
  /** Replay is paused or a pause was requested (pg_wal_replay_pause()). */
  readonly paused: boolean;
}

export type PgProbeResult =
  | { readonly role: 'primary'; readonly lsn: Lsn; /** From the current WAL file's name; absent from older replies. */ readonly timeline?: number }
  | ({ readonly role: 'replica' } & ReplicaPosition)
  | { readonly role: 'unreachable'; readonly error: PgProbeError };

/**
 * One round trip for either role. pg_is_in_recovery() is read once (the
 * materialized CTE) so the row is consistent with itself; the CASEs keep each
 * role's functions off the other role, where they raise errors. Everything
 * comes back as text and is parsed by readProbeRow.
 */
export const PROBE_SQL = `WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS in_recovery)
SELECT r.in_recovery,
       CASE WHEN NOT r.in_recovery THEN pg_current_wal_lsn() END AS current_lsn,
       CASE WHEN NOT r.in_recovery THEN pg_walfile_name(pg_current_wal_lsn()) END AS current_walfile,
       CASE WHEN r.in_recovery THEN pg_last_wal_receive_lsn() END AS receive_lsn,
       CASE WHEN r.in_recovery THEN pg_last_wal_replay_lsn() END AS replay_lsn,
       CASE WHEN r.in_recovery THEN extract(epoch FROM pg_last_xact_replay_timestamp()) END AS replay_epoch,
       CASE WHEN r.in_recovery THEN pg_is_wal_replay_paused() END AS paused
FROM r`;

/** Every column as PostgreSQL's text, whatever pg's (process-wide, mutable) type parsers are set to. */
const TEXT_TYPES = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

/** Thrown inside the probe only, and turned into a PgProbeError at its end. */
class ProbeFailure extends Error {
  constructor(
    readonly code: PgProbeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Probes one server. Never throws: every failure is a `role: 'unreachable'` value with a code. */
export async function probePostgres(target: PgProbeTarget, opts: PgProbeOptions): Promise<PgProbeResult> {
  const where = `PostgreSQL at ${target.host}:${target.port}`;
  const bad = checkInputs(target, opts);
  if (bad) return { role: 'unreachable', error: { code: 'PG_CONFIG', message: `${where}: ${bad}` } };

  // Our own socket, so that whatever state pg is in when time runs out, it is destroyed and nothing outlives the probe.
  const socket = new Socket();
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    password: () => readPassword(target.passwordFile),
    ssl: false,
    stream: () => socket,
    connectionTimeoutMillis: opts.timeoutMs,
    query_timeout: opts.timeoutMs,
    statement_timeout: opts.timeoutMs,
    application_name: 'entente-probe',
    types: TEXT_TYPES,
  });
  // After a failure pg may still emit 'error' on the client; unhandled, that would end the process.
  client.on('error', () => undefined);

  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ err: unknown }>((resolve) => {
    timer = setTimeout(() => resolve({ err: new ProbeFailure('PG_TIMEOUT', `no answer within ${opts.timeoutMs} ms`) }), opts.timeoutMs);
  });
  const work = (async () => {
    await client.connect();
    const { rows } = await client.query<Record<string, unknown>>(PROBE_SQL);
    return rows;
  })().then(
    (rows) => ({ rows }),
    (err: unknown) => ({ err }),
  );
  try {
    const outcome = await Promise.race([work, expired]);
    if ('err' in outcome) return { role: 'unreachable', error: describeFailure(outcome.err, target, opts.timeoutMs) };
    // A polite goodbye (the server logs no "unexpected EOF"), but no longer than the probe had left.
    await Promise.race([client.end().catch(() => undefined), expired]);
    const row = outcome.rows[0];
    if (outcome.rows.length !== 1 || !row) return { role: 'unreachable', error: { code: 'PG_BAD_REPLY', message: `${where}: the probe query returned ${outcome.rows.length} rows, not 1` } };
    const result = readProbeRow(row);
    return result.role === 'unreachable' ? { role: 'unreachable', error: { ...result.error, message: `${where}: ${result.error.message}` } } : result;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

function checkInputs(target: PgProbeTarget, opts: PgProbeOptions): string | undefined {
  if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs <= 0) return `timeoutMs must be a positive whole number of milliseconds, got ${opts.timeoutMs}`;
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) return `port must be 1 to 65535, got ${target.port}`;
  if (!target.host) return 'host is empty';
  if (!target.user) return 'user is empty';
  if (!target.database) return 'database is empty';
  return undefined;
}

/** The password, never logged: errors name the file and the reason only. */
async function readPassword(file: string | undefined): Promise<string> {
  if (file === undefined) throw new ProbeFailure('PG_AUTH', 'the server asked for a password and the target has no passwordFile');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ProbeFailure('PG_PASSWORD_FILE', `cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ProbeFailure('PG_PASSWORD_FILE', `the password file ${file} is empty`);
  return password;
}

/** SQLSTATE classes and codes that mean "not now" rather than "not allowed" or "broken". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53000']);

/** Maps whatever the probe threw onto a code and a message an operator can act on. */
export function describeFailure(err: unknown, target: Pick<PgProbeTarget, 'host' | 'port'>, timeoutMs: number): PgProbeError {
  const where = `PostgreSQL at ${target.host}:${target.port}`;
  const says = (code: PgProbeErrorCode, what: string): PgProbeError => ({ code, message: `${where}: ${what}` });
  if (err instanceof ProbeFailure) {
    const hint = err.code === 'PG_TIMEOUT' ? ' (is the server overloaded or stopped, or are packets to it dropped?)' : '';
    return says(err.code, err.message + hint);
  }
  if (err instanceof pg.DatabaseError) {
    const state = err.code ?? '';
    if (state.startsWith('28') || state === '3D000') return says('PG_AUTH', `login refused: ${err.message} (check the user, the database, the password file and pg_hba.conf for this client's address)`);
    if (state === '57014') return says('PG_TIMEOUT', `the probe query was cancelled after statement_timeout ${timeoutMs} ms`);
    if (UNAVAILABLE_STATES.has(state)) return says('PG_UNAVAILABLE', `not accepting queries: ${err.message}`);
    return says('PG_QUERY', `the probe query failed: ${err.message} (SQLSTATE ${state})`);
  }
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return says('PG_CONNECT', 'connection refused (is PostgreSQL running, and are listen_addresses and port set to this address?)');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return says('PG_CONNECT', `cannot resolve the host name (${e.code})`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return says('PG_CONNECT', `connection failed: ${e.code}`);
  }
  const message = e instanceof Error ? e.message : String(err);
  // pg's own wording for its connection and read timers, and for a server that hangs up.
  if (/timeout expired|Query read timeout/.test(message)) return says('PG_TIMEOUT', `no answer within ${timeoutMs} ms (is the server overloaded or stopped, or are packets to it dropped?)`);
  if (/Connection terminated/.test(message)) return says('PG_CONNECT', 'the server closed the connection (is it shutting down, or refusing this client?)');
  return says('PG_CONNECT', message);
}

/**
 * Parses the probe query's row (all text, or null): a replica's positions or
 * the primary's, or a PG_BAD_REPLY error naming what did not make sense —
 * nothing unparsed is passed on.
 */
export function readProbeRow(row: Readonly<Record<string, unknown>>): PgProbeResult {
  const fail = (message: string): PgProbeResult => ({ role: 'unreachable', error: { code: 'PG_BAD_REPLY', message } });
  try {
    const inRecovery = readBool(row, 'in_recovery');
    if (inRecovery === null) return fail('pg_is_in_recovery() returned no value');
    if (!inRecovery) {
      const lsn = readLsn(row, 'current_lsn');
      if (lsn === null) return fail('the primary returned no pg_current_wal_lsn()');
      // A WAL file's name starts with its timeline, 8 hex digits: a promotion starts a higher one.
      const walfile = readText(row, 'current_walfile');
      if (walfile === null) return { role: 'primary', lsn };
      if (!/^[0-9A-F]{24}$/.test(walfile)) return fail(`pg_walfile_name() returned ${JSON.stringify(walfile.slice(0, 40))}, not a WAL file name`);
      return { role: 'primary', lsn, timeline: parseInt(walfile.slice(0, 8), 16) };
    }
    const replayLsn = readLsn(row, 'replay_lsn');
    // A hot standby accepts queries only once it is consistent, so it has a replay position; if not, it cannot be judged.
    if (replayLsn === null) return fail('the replica returned no pg_last_wal_replay_lsn()');
    const paused = readBool(row, 'paused');
    if (paused === null) return fail('the replica returned no pg_is_wal_replay_paused()');
    return { role: 'replica', receiveLsn: readLsn(row, 'receive_lsn'), replayLsn, replayTimestamp: readEpoch(row, 'replay_epoch'), paused };
  } catch (err) {
    return fail((err as Error).message);
  }
}

function readText(row: Readonly<Record<string, unknown>>, column: string): string | null {
  const v = row[column];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new Error(`${column}: expected text, got ${typeof v}`);
  return v;
}

function readBool(row: Readonly<Record<string, unknown>>, column: string): boolean | null {
  const v = readText(row, column);
  if (v === null) return null;
  if (v === 't' || v === 'f') return v === 't';
  throw new Error(`${column}: "${v.slice(0, 40)}" is not a boolean`);
}

function readLsn(row: Readonly<Record<string, unknown>>, column: string): Lsn | null {
  const v = readText(row, column);
  if (v === null) return null;
  try {
    return parseLsn(v);
  } catch (err) {
    throw new Error(`${column}: ${(err as Error).message}`);
  }
}

function readEpoch(row: Readonly<Record<string, unknown>>, column: string): Date | null {
  const v = readText(row, column);
  if (v === null) return null;
  const seconds = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  const date = new Date(Math.round(seconds * 1000));
  if (Number.isNaN(date.getTime())) throw new Error(`${column}: "${v.slice(0, 40)}" is not a time in seconds since 1970`);
  return date;
}

