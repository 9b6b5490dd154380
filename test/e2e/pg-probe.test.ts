// The SQL probe against real PostgreSQL streaming replication (a primary and
// two replicas on loopback): roles (also for a plain role with a password
// file), replicas reaching the primary's position,
// a paused replica lagging while the other keeps up, promotion seen by the
// probe (timed), and stopped, hung and killed servers reported as unreachable
// within the probe's timeout; and a cluster that fails to start half-way
// cleans up after itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../src/core/eventually.js';
import { compareLsn, formatLsn, type Lsn } from '../../src/data/lsn.js';
import { probePostgres, type PgProbeResult, type ReplicaPosition } from '../../src/data/pg-probe.js';
import { replicaStaleness } from '../../src/data/replica-staleness.js';

/** A replica against the primary's position read just now: how far behind (bytes), and the staleness bound (seconds). */
function lagOf(primary: Lsn, r: Pick<ReplicaPosition, 'replayLsn' | 'replayTimestamp'>): { behind?: number; seconds: number } {
  const now = Date.now();
  return replicaStaleness({ replayed: r.replayLsn, replayedCommitAt: r.replayTimestamp ? r.replayTimestamp.getTime() : null }, { position: primary, at: now }, now);
}
import { exitWatchdog, randomIpPrefix } from './lab-harness.js';
import { startPgCluster, type PgCluster, type PgNode } from './pg-cluster.js';

exitWatchdog();

const prefix = randomIpPrefix(231, 234);
const TIMEOUT_MS = 2000;
/** What a busy two-core machine may add to a timer before the probe's promise settles. */
const SCHEDULING_SLACK_MS = 1000;

let cluster: PgCluster;
let primary: PgNode;
let replica1: PgNode;
let replica2: PgNode;

before(async () => {
  cluster = await startPgCluster({
    primary: { host: `${prefix}.240.1`, port: 5432 },
    replicas: [
      { host: `${prefix}.240.2`, port: 5432 },
      { host: `${prefix}.240.3`, port: 5432 },
    ],
  });
  primary = cluster.primary;
  [replica1, replica2] = cluster.replicas as [PgNode, PgNode];
});
after(async () => {
  await cluster?.close();
});

/** For assertion messages: LSNs (bigints, which JSON.stringify refuses) in PostgreSQL's spelling. */
const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? formatLsn(x as Lsn) : x));

const probe = (node: PgNode): Promise<PgProbeResult> => probePostgres(node.target, { timeoutMs: TIMEOUT_MS });

async function primaryLsn(node: PgNode = primary): Promise<Lsn> {
  const r = await probe(node);
  assert.equal(r.role, 'primary', show(r));
  return r.lsn;
}

async function replicaPosition(node: PgNode): Promise<ReplicaPosition> {
  const r = await probe(node);
  assert.equal(r.role, 'replica', `${node.name}: ${show(r)}`);
  return r;
}

/** Waits until the replica has replayed up to lsn; returns its position then. */
function replayedTo(node: PgNode, lsn: Lsn): Promise<ReplicaPosition> {
  return eventually(
    async () => {
      const p = await replicaPosition(node);
      return compareLsn(p.replayLsn, lsn) >= 0 && p;
    },
    { what: `${node.name} to replay up to ${formatLsn(lsn)}` },
  );
}

async function insert(node: PgNode, v: string): Promise<number> {
  const rows = await cluster.sql<{ id: number }>(node, 'INSERT INTO items (v) VALUES ($1) RETURNING id', [v]);
  return rows[0]!.id;
}

test('the primary probes as primary, the replicas as replicas (replaying, not paused)', async () => {
  const p = await probe(primary);
  assert.equal(p.role, 'primary', show(p));
  for (const node of [replica1, replica2]) {
    const r = await replicaPosition(node);
    assert.equal(r.paused, false);
    assert.ok(r.receiveLsn !== null, `${node.name} streams, so it has a receive position`);
  }
});

test('a role with only LOGIN and a password (SCRAM) probes both roles, its password from passwordFile; a wrong one is PG_AUTH', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-pgprobe-e2e-'));
  try {
    await cluster.sql(primary, "CREATE ROLE prober LOGIN PASSWORD 'probe-s3cret'");
    const good = join(dir, 'good');
    const wrong = join(dir, 'wrong');
    await writeFile(good, 'probe-s3cret\n', { mode: 0o600 });
    await writeFile(wrong, 'not-it\n', { mode: 0o600 });
    const as = (node: PgNode, passwordFile: string) => probePostgres({ ...node.target, user: 'prober', passwordFile }, { timeoutMs: TIMEOUT_MS });
    assert.equal((await as(primary, good)).role, 'primary');
    // The role reaches the replica by replication, like everything else.
    await eventually(async () => (await as(replica1, good)).role === 'replica', { what: 'the prober role to log in on replica 1' });
    const refused = await as(primary, wrong);
    assert.equal(refused.role, 'unreachable');
    assert.equal(refused.error.code, 'PG_AUTH', refused.error.message);
    assert.match(refused.error.message, /password authentication failed for user "prober"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('after an insert on the primary, both replicas reach its position and show no lag', async () => {
  await insert(primary, 'first');
  const target = await primaryLsn();
  for (const node of [replica1, replica2]) {
    const at = await replayedTo(node, target);
    assert.deepEqual(lagOf(target, at), { behind: 0, seconds: 0 }, `${node.name} has replayed everything: no lag`);
    assert.ok(at.replayTimestamp, `${node.name} has replayed a transaction, so it knows when it was committed`);
  }
  const rows = await cluster.sql<{ v: string }>(replica2, "SELECT v FROM items WHERE v = 'first'");
  assert.equal(rows.length, 1, 'the row is readable on the replica');
});

test('replay paused on replica 1: it stays behind and lags in bytes while replica 2 catches up; resumed: it catches up', async () => {
  await cluster.pauseReplay(replica1);
  const atPause = await replicaPosition(replica1);
  assert.equal(atPause.paused, true);
  for (let i = 0; i < 20; i++) await insert(primary, `while paused ${i}`);
  const target = await primaryLsn();

  await replayedTo(replica2, target);
  // Replica 1 still receives WAL (streaming goes on) but applies none of it.
  const behind = await eventually(
    async () => {
      const p = await replicaPosition(replica1);
      return p.receiveLsn !== null && compareLsn(p.receiveLsn, target) >= 0 && p;
    },
    { what: 'replica 1 to receive the new WAL while paused' },
  );
  assert.equal(behind.replayLsn, atPause.replayLsn, 'nothing replayed while paused');
  assert.ok(compareLsn(behind.replayLsn, target) < 0);
  const lag = lagOf(target, behind);
  assert.ok((lag.behind ?? 0) > 0, show(lag));
  assert.ok(lag.seconds > 0, `behind, so the time since its last replayed transaction counts: ${show(lag)}`);
  assert.deepEqual(lagOf(target, await replicaPosition(replica2)), { behind: 0, seconds: 0 });
  const seen = await cluster.sql<{ n: string }>(replica1, "SELECT count(*) AS n FROM items WHERE v LIKE 'while paused%'");
  assert.equal(seen[0]?.n, '0', 'queries on the paused replica do not see the new rows');

  await cluster.resumeReplay(replica1);
  const caughtUp = await replayedTo(replica1, target);
  assert.equal(caughtUp.paused, false);
  assert.deepEqual(lagOf(target, caughtUp), { behind: 0, seconds: 0 });
});

test('promote(replica 2): it probes as primary within a second or two, and takes a write', async (t) => {
  const started = performance.now();
  const promoting = cluster.promote(replica2);
  await eventually(async () => (await probe(replica2)).role === 'primary', { what: 'replica 2 to probe as primary', intervalMs: 20 });
  const elapsedMs = performance.now() - started;
  await promoting;
  t.diagnostic(`promotion seen by the probe after ${Math.round(elapsedMs)} ms`);
  assert.ok(elapsedMs < 3000, `promotion took ${Math.round(elapsedMs)} ms to show`);

  // Both now probe as primary; the promoted one on a higher timeline, which is how the routing decision tells them apart.
  const [oldP, newP] = [await probe(primary), await probe(replica2)];
  assert.ok(oldP.role === 'primary' && newP.role === 'primary', `${show(oldP)} ${show(newP)}`);
  assert.equal(oldP.timeline, 1, show(oldP));
  assert.ok(newP.timeline !== undefined && newP.timeline > oldP.timeline, `promoted timeline ${newP.timeline} above ${oldP.timeline}`);

  const id = await insert(replica2, 'written on the new primary');
  assert.ok(id > 0);
  const written = await primaryLsn(replica2);
  assert.ok(compareLsn(written, (await replicaPosition(replica1)).replayLsn) > 0, 'the new primary has written past what replica 1 replayed');
});

test('a hung server (postmaster stopped by SIGSTOP) probes as unreachable, PG_TIMEOUT, within the timeout', async () => {
  cluster.freeze(primary);
  try {
    const started = performance.now();
    const r = await probe(primary);
    const elapsedMs = performance.now() - started;
    assert.equal(r.role, 'unreachable', show(r));
    assert.equal(r.error.code, 'PG_TIMEOUT', r.error.message);
    assert.match(r.error.message, new RegExp(`${primary.host.replace(/\./g, '\\.')}:5432`));
    assert.ok(elapsedMs >= TIMEOUT_MS - 50 && elapsedMs < TIMEOUT_MS + SCHEDULING_SLACK_MS, `returned after ${Math.round(elapsedMs)} ms`);
  } finally {
    cluster.thaw(primary);
  }
  await eventually(async () => (await probe(primary)).role === 'primary', { what: 'the thawed primary to answer again' });
});

test('stop (immediate) and kill (SIGKILL of the postmaster): the node probes as unreachable at once', async () => {
  for (const [what, node, down] of [
    ['stop', replica1, () => cluster.stop(replica1)],
    ['kill', primary, () => cluster.kill(primary)],
    ['stop', replica2, () => cluster.stop(replica2)],
  ] as const) {
    await down();
    const started = performance.now();
    const r = await probe(node);
    const elapsedMs = performance.now() - started;
    assert.equal(r.role, 'unreachable', `${what} ${node.name}: ${show(r)}`);
    assert.equal(r.error.code, 'PG_CONNECT', r.error.message);
    assert.match(r.error.message, /connection refused/);
    assert.ok(elapsedMs < TIMEOUT_MS, `${what} ${node.name}: the probe returned after ${Math.round(elapsedMs)} ms`);
  }
});

test('a cluster that fails to start half-way (a replica whose address is taken) leaves no server and no directory', async () => {
  const ours = (): { dirs: string[]; servers: string[] } => ({
    dirs: readdirSync(tmpdir()).filter((d) => d.startsWith('entente-pgc-')).sort(),
    servers: execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('entente-pgc-'))
      .sort(),
  });
  const before = ours();
  const taken = { host: `${prefix}.240.5`, port: 5432 };
  await assert.rejects(startPgCluster({ primary: { host: `${prefix}.240.4`, port: 5432 }, replicas: [taken, taken] }), (err: Error) => {
    assert.match(err.message, /replica2 did not start; its log ends:\n[\s\S]*could not bind/);
    return true;
  });
  assert.deepEqual(ours(), before, 'the primary and replica 1, started before the failure, are gone, and so is the directory');
});
