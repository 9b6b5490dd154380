// A real PostgreSQL streaming-replication cluster: a primary made by initdb
// and replicas made by pg_basebackup -R from it, each on its own loopback
// address, in one directory (the lab's, or a temp one), with handles to pause
// replay, promote, stop and kill. The lab's replicated store (lab-store.ts)
// and the e2e tests use it. Debian's binaries, run as the `postgres` user when
// we are root (pg-binaries.ts); close() leaves no process and no files.
import { appendFileSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from '../core/eventually.js';
import type { PgProbeTarget } from '../data/pg-probe.js';
import { childrenOf, postgresIds, processAlive as alive, requirePostgresBinDir, runPgTool, runningAsRoot } from './pg-binaries.js';

/** The superuser every cluster is made with: trust auth from the cluster's own addresses only. */
export const PG_USER = 'entente';

export interface PgAddress {
  readonly host: string;
  readonly port: number;
}

/** A server to make: its address and, optionally, its name (default `primary`, `replica1`, …). */
export interface PgNodeSpec extends PgAddress {
  readonly name?: string;
}

export interface PgNode extends PgAddress {
  /** `primary`, `replica1`, `replica2`, … or as given: also its cluster_name, so pg_stat_replication names it. */
  readonly name: string;
  readonly dataDir: string;
  /** Its probe target: the test user (a superuser), trust auth, no password. Other roles log in with a password. */
  readonly target: PgProbeTarget;
}

export interface PgCluster {
  readonly primary: PgNode;
  readonly replicas: readonly PgNode[];
  /** One statement over a fresh connection; its rows with pg's usual type parsing. */
  sql<R extends Record<string, unknown> = Record<string, unknown>>(node: PgNode, query: string, params?: unknown[]): Promise<R[]>;
  /** Asks replay to pause and waits until it has (pg_get_wal_replay_pause_state() = 'paused'). */
  pauseReplay(replica: PgNode): Promise<void>;
  resumeReplay(replica: PgNode): Promise<void>;
  /** pg_promote(), then waits until pg_is_in_recovery() is false. */
  promote(replica: PgNode): Promise<void>;
  /** pg_ctl stop -m immediate: the server is down when this returns. */
  stop(node: PgNode): Promise<void>;
  /** SIGKILL of the postmaster; returns once it and its children are gone. */
  kill(node: PgNode): Promise<void>;
  /**
   * SIGSTOP of the postmaster: the kernel still completes TCP handshakes on
   * its port, but nobody answers: a hung server. thaw() (SIGCONT) undoes it;
   * stop() and close() thaw first.
   */
  freeze(node: PgNode): void;
  thaw(node: PgNode): void;
  /** Stops every server still running and removes the cluster's directory; safe to call twice. */
  close(): Promise<void>;
  /** Last resort from an exit handler: synchronous SIGKILL of every postmaster still running, and the directory removed. */
  killAllNow(): void;
}

/** Settings every node shares (copied to the replicas by pg_basebackup); small, because the machine is shared. */
const SHARED_CONF = `
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 30
wal_receiver_status_interval = 1s
log_line_prefix = '%m [%p] %q%a '
`;

/**
 * `dir`: where the cluster lives (created; it must not exist yet, and its
 * parents must be traversable by the `postgres` user when we are root);
 * default a new temp dir. Either way close() removes it.
 */
export async function startPgCluster(spec: { primary: PgNodeSpec; replicas: readonly PgNodeSpec[]; dir?: string; /** postgresql.conf lines after the shared ones (every node gets them). */ conf?: string }): Promise<PgCluster> {
  const bin = requirePostgresBinDir();
  let root: string;
  if (spec.dir) {
    mkdirSync(spec.dir);
    root = spec.dir;
  } else root = await mkdtemp(join(tmpdir(), 'entente-pgc-'));
  const ids = runningAsRoot() ? await postgresIds() : undefined;
  if (ids) chownSync(root, ...ids);

  const makeNode = (name: string, a: PgAddress): PgNode => ({
    name,
    host: a.host,
    port: a.port,
    dataDir: join(root, name),
    target: { host: a.host, port: a.port, user: PG_USER, database: 'postgres' },
  });
  const primary = makeNode(spec.primary.name ?? 'primary', spec.primary);
  const replicas = spec.replicas.map((a, i) => makeNode(a.name ?? `replica${i + 1}`, a));
  const all = [primary, ...replicas];
  /** Nodes whose server may be running: close() stops each of them. */
  const live = new Set<PgNode>();

  const pgRun = (tool: string, args: string[]): Promise<string> => runPgTool(bin, tool, args);
  const logOf = (node: PgNode): string => join(root, `${node.name}.log`);
  const logTail = (node: PgNode): string => {
    try {
      return readFileSync(logOf(node), 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const startServer = async (node: PgNode): Promise<void> => {
    live.add(node);
    try {
      await pgRun('pg_ctl', ['-D', node.dataDir, '-l', logOf(node), '-w', '-t', '90', 'start']);
    } catch (err) {
      throw new Error(`${node.name} did not start; its log ends:\n${logTail(node)}`, { cause: err });
    }
  };
  /** What only this node has: its address, no Unix socket (nodes may share a port on different addresses), its name. */
  const writeOwnConf = (node: PgNode): void => {
    appendFileSync(join(node.dataDir, 'postgresql.conf'), `\n# ${node.name}\nlisten_addresses = '${node.host}'\nport = ${node.port}\nunix_socket_directories = ''\ncluster_name = '${node.name}'\n`);
  };

  const sql = async <R extends Record<string, unknown>>(node: PgNode, query: string, params?: unknown[]): Promise<R[]> => {
    const client = new pg.Client({ host: node.host, port: node.port, user: PG_USER, database: 'postgres', ssl: false, connectionTimeoutMillis: 30_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query<R>(query, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const postmasterPid = (node: PgNode): number | undefined => {
    try {
      const pid = Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
      return pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  /** SIGKILL of the postmaster, then of any child that outlives it (they exit on their own when they see it gone). */
  const killNode = async (node: PgNode): Promise<void> => {
    const pid = postmasterPid(node);
    if (pid === undefined || !alive(pid)) return;
    const children = childrenOf(pid);
    process.kill(pid, 'SIGKILL');
    await eventually(() => !alive(pid), { what: `${node.name}'s postmaster ${pid} to die`, timeoutMs: 30_000 });
    await eventually(() => children.every((c) => !alive(c)), { what: `${node.name}'s backends to exit`, timeoutMs: 10_000 }).catch(() => {
      for (const c of children.filter(alive)) process.kill(c, 'SIGKILL');
    });
  };

  const frozen = new Set<PgNode>();
  const signal = (node: PgNode, sig: 'SIGSTOP' | 'SIGCONT'): void => {
    const pid = postmasterPid(node);
    if (pid === undefined) throw new Error(`${node.name} has no postmaster.pid: is it running?`);
    process.kill(pid, sig);
    if (sig === 'SIGSTOP') frozen.add(node);
    else frozen.delete(node);
  };

  const stopNode = async (node: PgNode): Promise<void> => {
    // A stopped process takes no signal but SIGKILL until it is continued: pg_ctl's SIGQUIT would wait out its timeout.
    if (frozen.has(node)) signal(node, 'SIGCONT');
    try {
      await pgRun('pg_ctl', ['-D', node.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    } catch (err) {
      // Already down (killed, or never started) is fine; a postmaster that is still there is ended by force.
      const pid = postmasterPid(node);
      if (pid !== undefined && alive(pid)) await killNode(node);
      else if (!/not running|No such process|does not exist/i.test(String((err as Error).message))) throw err;
    }
  };

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const node of [...live].reverse()) {
      await stopNode(node).catch(() => killNode(node).catch(() => undefined));
      live.delete(node);
    }
    await rm(root, { recursive: true, force: true });
  };
  const killAllNow = (): void => {
    closed = true;
    for (const node of live) {
      const pid = postmasterPid(node);
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    live.clear();
    rmSync(root, { recursive: true, force: true });
  };

  try {
    // The primary. No auth method is trusted by default; pg_hba.conf opens exactly the doors below.
    await pgRun('initdb', ['-D', primary.dataDir, '-U', PG_USER, '--auth=reject', '--no-sync', '--no-instructions']);
    appendFileSync(join(primary.dataDir, 'postgresql.conf'), SHARED_CONF + (spec.conf ? `\n${spec.conf}\n` : ''));
    // Node's clients and libpq dial 127.x addresses from 127.0.0.1 (the lo route's source), so it is a door too.
    const sources = [...new Set(['127.0.0.1', ...all.map((n) => n.host)])];
    // Any other role a test creates logs in with its password (SCRAM), from the same addresses only.
    writeFileSync(
      join(primary.dataDir, 'pg_hba.conf'),
      [
        ...sources.flatMap((a) => [`host all ${PG_USER} ${a}/32 trust`, `host replication ${PG_USER} ${a}/32 trust`]),
        ...sources.map((a) => `host all all ${a}/32 scram-sha-256`),
      ].join('\n') + '\n',
    );
    writeOwnConf(primary);
    await startServer(primary);
    await sql(primary, 'CREATE TABLE items (id serial PRIMARY KEY, v text)');

    // Each replica: a base backup with WAL streamed alongside (-X stream), its own replication slot (-C -S, so the
    // primary keeps the WAL it has yet to receive), standby.signal and primary_conninfo written by -R.
    for (const replica of replicas) {
      await pgRun('pg_basebackup', ['-D', replica.dataDir, '-h', primary.host, '-p', String(primary.port), '-U', PG_USER, '-R', '-X', 'stream', '-C', '-S', slotName(replica.name), '-c', 'fast', '--no-sync']);
      writeOwnConf(replica);
      await startServer(replica);
    }
    await eventually(
      async () => {
        const rows = await sql<{ application_name: string }>(primary, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'");
        return replicas.every((r) => rows.some((row) => row.application_name === r.name));
      },
      { what: `${replicas.map((r) => r.name).join(' and ')} to stream from the primary`, timeoutMs: 60_000 },
    );
  } catch (err) {
    await close();
    throw err;
  }

  return {
    primary,
    replicas,
    sql,
    async pauseReplay(replica) {
      await sql(replica, 'SELECT pg_wal_replay_pause()');
      await eventually(async () => (await sql<{ s: string }>(replica, 'SELECT pg_get_wal_replay_pause_state() AS s'))[0]?.s === 'paused', {
        what: `${replica.name}'s replay to pause`,
      });
    },
    async resumeReplay(replica) {
      await sql(replica, 'SELECT pg_wal_replay_resume()');
    },
    async promote(replica) {
      await sql(replica, 'SELECT pg_promote(wait => false)');
      await eventually(async () => (await sql<{ r: boolean }>(replica, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false, {
        what: `${replica.name} to leave recovery`,
        intervalMs: 20,
      });
    },
    async stop(node) {
      await stopNode(node);
      live.delete(node);
    },
    async kill(node) {
      await killNode(node);
      frozen.delete(node);
      live.delete(node);
    },
    freeze: (node) => signal(node, 'SIGSTOP'),
    thaw: (node) => signal(node, 'SIGCONT'),
    close,
    killAllNow,
  };
}

/** A replication slot name (lowercase letters, digits and underscores) for a node name such as "orders-pg-us". */
function slotName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
