// The probe without a real PostgreSQL: the reading of the
// probe's row as tables, and probePostgres against a scripted server (fake-
// postgres.ts) for every way a probe can fail: refused, hung, hung up, login
// refused, password file missing or empty, server not ready, query errors,
// a reply that does not parse. Real replication: test/e2e/pg-probe.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../core/eventually.js';
import { parseLsn } from './lsn.js';
import { startFakePg, type FakePg, type FakePgScript } from './fake-postgres.js';
import { describeFailure, PROBE_SQL, probePostgres, readProbeRow, type PgProbeErrorCode, type PgProbeResult } from './pg-probe.js';

/** An address of this file's own (127.231-234.240.200-250, the range the PostgreSQL tests use), so no other test's server is met. */
const HOST = `127.${231 + Math.floor(Math.random() * 4)}.240.${200 + Math.floor(Math.random() * 51)}`;

describe('readProbeRow', () => {
  const replica = { in_recovery: 't', current_lsn: null, receive_lsn: '0/3000100', replay_lsn: '0/3000060', replay_epoch: '1735689600.123456', paused: 'f' };
  const cases: { what: string; row: Record<string, unknown>; want: PgProbeResult | { bad: RegExp } }[] = [
    { what: 'a primary', row: { in_recovery: 'f', current_lsn: '16/B374D848', receive_lsn: null, replay_lsn: null, replay_epoch: null, paused: null }, want: { role: 'primary', lsn: parseLsn('16/B374D848') } },
    { what: 'a primary with its timeline', row: { in_recovery: 'f', current_lsn: '16/B374D848', current_walfile: '0000000300000016000000B3', receive_lsn: null, replay_lsn: null, replay_epoch: null, paused: null }, want: { role: 'primary', lsn: parseLsn('16/B374D848'), timeline: 3 } },
    {
      what: 'a replica',
      row: replica,
      want: { role: 'replica', receiveLsn: parseLsn('0/3000100'), replayLsn: parseLsn('0/3000060'), replayTimestamp: new Date(1735689600123), paused: false },
    },
    {
      what: 'a paused replica that is not streaming and has replayed no transaction',
      row: { ...replica, receive_lsn: null, replay_epoch: null, paused: 't' },
      want: { role: 'replica', receiveLsn: null, replayLsn: parseLsn('0/3000060'), replayTimestamp: null, paused: true },
    },
    { what: 'a primary whose LSN does not parse', row: { in_recovery: 'f', current_lsn: '0/XYZ' }, want: { bad: /current_lsn: "0\/XYZ" is not a PostgreSQL WAL position/ } },
    { what: 'a replica whose replay LSN does not parse', row: { ...replica, replay_lsn: '3000060' }, want: { bad: /replay_lsn: "3000060" is not/ } },
    { what: 'a replica whose receive LSN does not parse', row: { ...replica, receive_lsn: '0/3000100/1' }, want: { bad: /receive_lsn/ } },
    { what: 'a replica without a replay LSN', row: { ...replica, replay_lsn: null }, want: { bad: /no pg_last_wal_replay_lsn\(\)/ } },
    { what: 'a primary without an LSN', row: { in_recovery: 'f', current_lsn: null }, want: { bad: /no pg_current_wal_lsn\(\)/ } },
    { what: 'no recovery flag', row: { ...replica, in_recovery: null }, want: { bad: /pg_is_in_recovery\(\) returned no value/ } },
    { what: 'a recovery flag that is not a boolean', row: { ...replica, in_recovery: 'yes' }, want: { bad: /in_recovery: "yes" is not a boolean/ } },
    { what: 'no paused flag on a replica', row: { ...replica, paused: null }, want: { bad: /no pg_is_wal_replay_paused\(\)/ } },
    { what: 'a replay time that is not a number', row: { ...replica, replay_epoch: '2025-01-01' }, want: { bad: /replay_epoch: "2025-01-01" is not a time/ } },
    { what: 'a value already parsed by someone (not text)', row: { ...replica, in_recovery: true }, want: { bad: /in_recovery: expected text, got boolean/ } },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const got = readProbeRow(c.row);
      if ('bad' in c.want) {
        assert.equal(got.role, 'unreachable');
        assert.equal(got.error.code, 'PG_BAD_REPLY');
        assert.match(got.error.message, c.want.bad);
      } else {
        assert.deepEqual(got, c.want);
      }
    });
  }
});

describe('describeFailure: errors of the socket and DNS', () => {
  const target = { host: 'db.example', port: 5432 };
  const cases: [string, PgProbeErrorCode, RegExp][] = [
    ['ECONNREFUSED', 'PG_CONNECT', /^PostgreSQL at db\.example:5432: connection refused \(is PostgreSQL running/],
    ['ENOTFOUND', 'PG_CONNECT', /cannot resolve the host name \(ENOTFOUND\)/],
    ['ECONNRESET', 'PG_CONNECT', /connection failed: ECONNRESET/],
    ['EHOSTUNREACH', 'PG_CONNECT', /connection failed: EHOSTUNREACH/],
  ];
  for (const [code, want, message] of cases) {
    it(code, () => {
      const err = Object.assign(new Error(`connect ${code}`), { code });
      const got = describeFailure(err, target, 1000);
      assert.equal(got.code, want);
      assert.match(got.message, message);
    });
  }
});

describe('probePostgres against a scripted server', () => {
  const servers: FakePg[] = [];
  let dir: string | undefined;
  after(async () => {
    for (const s of servers) await s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const fake = async (script: FakePgScript): Promise<FakePg> => {
    const s = await startFakePg(HOST, script);
    servers.push(s);
    return s;
  };
  const file = async (name: string, text: string): Promise<string> => {
    dir ??= await mkdtemp(join(tmpdir(), 'entente-pgprobe-'));
    await writeFile(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const target = (s: FakePg, passwordFile?: string) => ({ host: s.host, port: s.port, user: 'probe', database: 'postgres', ...(passwordFile ? { passwordFile } : {}) });
  const unreachable = (r: PgProbeResult): { code: string; message: string } => {
    assert.equal(r.role, 'unreachable', JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    return r.error;
  };
  const COLUMNS = [
    ['in_recovery', 16],
    ['current_lsn', 3220],
    ['receive_lsn', 3220],
    ['replay_lsn', 3220],
    ['replay_epoch', 1700],
    ['paused', 16],
  ] as const;

  it('a replica: sends the probe query once, reads booleans, LSNs and the epoch as text whatever their types', async () => {
    const s = await fake({ columns: COLUMNS, rows: [['t', null, '0/3000100', '0/3000060', '1735689600.5', 't']] });
    const r = await probePostgres(target(s), { timeoutMs: 5000 });
    assert.deepEqual(r, { role: 'replica', receiveLsn: parseLsn('0/3000100'), replayLsn: parseLsn('0/3000060'), replayTimestamp: new Date(1735689600500), paused: true });
    assert.deepEqual(s.queries, [PROBE_SQL]);
    await eventually(() => s.openConnections() === 0, { what: 'the probe to close its connection' });
  });

  it('a primary whose LSN does not parse: PG_BAD_REPLY naming the server and the column, not a position', async () => {
    const s = await fake({ columns: COLUMNS, rows: [['f', 'B374D848', null, null, null, null]] });
    const e = unreachable(await probePostgres(target(s), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_BAD_REPLY');
    assert.match(e.message, new RegExp(`^PostgreSQL at ${HOST.replace(/\./g, '\\.')}:${s.port}: current_lsn: "B374D848" is not`));
  });

  it('no row, or two: PG_BAD_REPLY', async () => {
    for (const rows of [[], [['f', '0/1', null, null, null, null], ['f', '0/2', null, null, null, null]]]) {
      const s = await fake({ columns: COLUMNS, rows });
      const e = unreachable(await probePostgres(target(s), { timeoutMs: 5000 }));
      assert.equal(e.code, 'PG_BAD_REPLY');
      assert.match(e.message, new RegExp(`returned ${rows.length} rows, not 1`));
    }
  });

  it('nothing listening: PG_CONNECT, connection refused, at once', async () => {
    const probeServer = createServer();
    await new Promise<void>((r) => probeServer.listen(0, HOST, r));
    const port = (probeServer.address() as { port: number }).port;
    await new Promise((r) => probeServer.close(r));
    const started = performance.now();
    const e = unreachable(await probePostgres({ host: HOST, port, user: 'probe', database: 'postgres' }, { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_CONNECT');
    assert.match(e.message, /connection refused/);
    assert.ok(performance.now() - started < 5000);
  });

  for (const silentAt of ['startup', 'query'] as const) {
    it(`a server that never answers (at ${silentAt}): PG_TIMEOUT within the timeout, and the connection is closed`, async () => {
      const s = await fake({ silentAt, columns: COLUMNS });
      const started = performance.now();
      const e = unreachable(await probePostgres(target(s), { timeoutMs: 300 }));
      const elapsed = performance.now() - started;
      assert.equal(e.code, 'PG_TIMEOUT', e.message);
      assert.match(e.message, /no answer within 300 ms/);
      // The upper bound leaves a busy machine a second of timer lag; without the deadline it would be TCP's minutes.
      assert.ok(elapsed >= 250 && elapsed < 300 + 1000, `returned after ${Math.round(elapsed)} ms`);
      await eventually(() => s.openConnections() === 0, { what: 'the timed-out probe to close its connection' });
    });
  }

  it('a server that hangs up: PG_CONNECT', async () => {
    const s = await fake({ hangUpAtStartup: true });
    const e = unreachable(await probePostgres(target(s), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_CONNECT', e.message);
    assert.match(e.message, /closed the connection/);
  });

  it('a password asked for and no passwordFile: PG_AUTH saying so', async () => {
    const s = await fake({ askPassword: true });
    const e = unreachable(await probePostgres(target(s), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_AUTH');
    assert.match(e.message, /asked for a password and the target has no passwordFile/);
  });

  it('a password file that is missing or empty: PG_PASSWORD_FILE naming the file', async () => {
    const s = await fake({ askPassword: true });
    const missing = join(tmpdir(), 'entente-no-such-password-file');
    let e = unreachable(await probePostgres(target(s, missing), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_PASSWORD_FILE');
    assert.match(e.message, new RegExp(`cannot read the password file ${missing}: ENOENT`));
    const empty = await file('empty', '\n');
    e = unreachable(await probePostgres(target(s, empty), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_PASSWORD_FILE');
    assert.match(e.message, /is empty/);
    assert.deepEqual(s.passwords, [], 'nothing was sent');
  });

  it('the password: the file without its newline, read afresh on each probe, never in an error', async () => {
    const s = await fake({ askPassword: true, loginError: { code: '28P01', message: 'password authentication failed for user "probe"' } });
    const pw = await file('password', 'first-s3cret\n');
    const e = unreachable(await probePostgres(target(s, pw), { timeoutMs: 5000 }));
    assert.equal(e.code, 'PG_AUTH');
    assert.match(e.message, /login refused: password authentication failed for user "probe" \(check the user, the database, the password file and pg_hba\.conf/);
    await writeFile(pw, 'second-s3cret\r\n');
    const e2 = unreachable(await probePostgres(target(s, pw), { timeoutMs: 5000 }));
    assert.deepEqual(s.passwords, ['first-s3cret', 'second-s3cret']);
    for (const m of [e.message, e2.message]) assert.doesNotMatch(m, /s3cret/);
  });

  const serverErrors: [string, FakePgScript, PgProbeErrorCode, RegExp][] = [
    ['no pg_hba.conf entry', { loginError: { code: '28000', message: 'no pg_hba.conf entry for host "127.0.0.1"' } }, 'PG_AUTH', /login refused: no pg_hba\.conf entry/],
    ['no such database', { loginError: { code: '3D000', message: 'database "postgres" does not exist' } }, 'PG_AUTH', /login refused/],
    ['starting up', { loginError: { code: '57P03', message: 'the database system is starting up' } }, 'PG_UNAVAILABLE', /not accepting queries: the database system is starting up/],
    ['too many connections', { loginError: { code: '53300', message: 'sorry, too many clients already' } }, 'PG_UNAVAILABLE', /too many clients/],
    ['statement_timeout', { queryError: { code: '57014', message: 'canceling statement due to statement timeout' } }, 'PG_TIMEOUT', /cancelled after statement_timeout 5000 ms/],
    ['a function missing (not PostgreSQL 10+)', { queryError: { code: '42883', message: 'function pg_current_wal_lsn() does not exist' } }, 'PG_QUERY', /the probe query failed: function pg_current_wal_lsn\(\) does not exist \(SQLSTATE 42883\)/],
  ];
  for (const [what, script, code, message] of serverErrors) {
    it(`${what}: ${code}`, async () => {
      const s = await fake(script);
      const e = unreachable(await probePostgres(target(s), { timeoutMs: 5000 }));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
    });
  }

  it('invalid targets and options: PG_CONFIG, without connecting', async () => {
    const ok = { host: HOST, port: 5432, user: 'probe', database: 'postgres' };
    const cases: [Parameters<typeof probePostgres>[0], number, RegExp][] = [
      [ok, 0, /timeoutMs must be a positive whole number/],
      [ok, Number.NaN, /timeoutMs/],
      [{ ...ok, port: 70000 }, 1000, /port must be 1 to 65535, got 70000/],
      [{ ...ok, host: '' }, 1000, /host is empty/],
      [{ ...ok, user: '' }, 1000, /user is empty/],
    ];
    for (const [t, timeoutMs, message] of cases) {
      const e = unreachable(await probePostgres(t, { timeoutMs }));
      assert.equal(e.code, 'PG_CONFIG');
      assert.match(e.message, message);
    }
  });
});
