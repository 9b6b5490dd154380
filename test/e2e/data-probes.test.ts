// Lag measured continuously and calls routed by it, against real PostgreSQL
// streaming replication (the TCP read-write and read-only names through the
// mesh):
// eu's controller probes a primary and two replicas declared as a DataRoute's
// members, and /v1/status, `entente status` and `entente check` show roles,
// lag and where reads and writes from eu go. Replay paused on one replica:
// within a few probe intervals reads leave it; resumed: they come back;
// the primary stopped and a replica promoted: writes follow.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { DataRouteView } from '../../src/controller/data-probes.js';
import { exitWatchdog, randomIpPrefix, runCli, startTestMesh } from './lab-harness.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { Socket } from 'node:net';
import pg from 'pg';
import { parseLsn } from '../../src/data/lsn.js';

exitWatchdog();

const prefix = randomIpPrefix(231, 234);
// Third octet 241: no lab region uses it, nor the pg-probe test (240).
const host = (n: number): string => `${prefix}.241.${n}`;
const CLIENT = host(20);
const RW = `${host(30)}:5432`;
const RO = `${host(31)}:5432`;
let cluster: PgCluster | undefined;
let lab: Lab;

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: 'entente.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec });

before(async () => {
  cluster = await startPgCluster({ primary: { host: host(1), port: 5432 }, replicas: [{ host: host(2), port: 5432 }, { host: host(3), port: 5432 }] });
  const shared = [
    doc('Service', 'orders-pg', { ports: [{ port: 5432, targetPort: 5432, protocol: 'tcp' }] }),
    doc('DataRoute', 'orders', { members: { service: 'orders-pg', port: 5432 }, protocol: 'postgresql', maxLag: '2s', probe: { user: 'entente', interval: '250ms', timeout: '1s' }, tcp: { readWrite: 'orders-rw', readOnly: 'orders-ro' } }),
  ].join('---\n');
  const members = [1, 2, 3].map((n) => doc('Workload', `pg-${n}`, { service: 'orders-pg', serviceAccount: 'orders-pg', node: 'eu-node-1', address: host(n) })).join('---\n');
  // A client on eu-node-2, calling through its agent's outbound ports for the two names.
  const client = [
    doc('Service', 'orders-client', { ports: [{ port: 9, targetPort: 9, protocol: 'tcp' }] }),
    doc('AuthorizationPolicy', 'orders-pg-clients', { selector: { services: ['orders-pg'] }, action: 'ALLOW', rules: [{ from: [{ principals: ['spiffe://eu.entente.lab/ns/shop/sa/orders-client'] }] }] }),
  ].join('---\n');
  const clientWorkload = doc('Workload', 'orders-client-1', { service: 'orders-client', serviceAccount: 'orders-client', node: 'eu-node-2', address: CLIENT, attest: { uid: process.getuid?.() ?? 0 } });
  lab = await startTestMesh(['eu', 'us'], prefix, {
    extra: {
      sharedYaml: `${shared}---\n${client}`,
      regionYaml: { eu: `${members}---\n${clientWorkload}` },
      outboundPorts: { 'eu-node-2': [{ host: 'orders-rw.shop.mesh', port: 5432, listen: RW }, { host: 'orders-ro.shop.mesh', port: 5432, listen: RO }] },
    },
  });
});
after(async () => {
  await lab?.stop();
  await cluster?.close();
});

/** Which server a connection to a data-route name reached, dialled from the client workload's address through its agent. */
async function reached(listen: string): Promise<{ address: string; inRecovery: boolean } | undefined> {
  const [h, p] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  // The agent knows its caller by source address: every connection leaves from the client workload's.
  class FromClient extends Socket {
    override connect(...args: unknown[]): this {
      return super.connect({ port: args[0] as number, host: args[1] as string, localAddress: CLIENT });
    }
  }
  const c = new pg.Client({ host: h, port: p, user: 'entente', database: 'postgres', connectionTimeoutMillis: 10_000, stream: () => new FromClient() });
  try {
    await c.connect();
    const r = await c.query<{ a: string; r: boolean }>('SELECT host(inet_server_addr()) AS a, pg_is_in_recovery() AS r');
    return { address: r.rows[0]!.a, inRecovery: r.rows[0]!.r };
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function route(): Promise<DataRouteView | undefined> {
  const r = await httpJson<{ data?: DataRouteView[] }>(`${lab.adminUrl('eu')}/v1/status`, { timeoutMs: 5000 }).catch(() => undefined);
  return r?.body.data?.find((d) => d.route === 'shop/orders');
}

test('roles and lag in /v1/status, status and check; a paused replica leaves the reads and comes back', { timeout: 240_000 }, async () => {
  const c = cluster!;
  const healthy = await eventually(async () => {
    const d = await route();
    return d?.primary === 'shop/pg-1' && d.members.filter((m) => m.role === 'replica' && m.withinBound).length === 2 ? d : undefined;
  }, { what: 'pg-1 primary, both replicas within the bound', timeoutMs: 90_000, intervalMs: 500 });
  assert.deepEqual(healthy.writes.order, ['shop/pg-1']);
  assert.equal(healthy.reads.order.at(-1), 'shop/pg-1', 'the primary serves reads last');
  // Through the mesh: the read-write name reaches the primary, the read-only name a replica.
  const rw = await eventually(async () => reached(RW), { what: 'a connection to orders-rw', timeoutMs: 60_000, intervalMs: 500 });
  assert.deepEqual(rw, { address: host(1), inRecovery: false });
  const ro = await eventually(async () => reached(RO), { what: 'a connection to orders-ro', timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(ro.inRecovery, true);
  assert.ok([host(2), host(3)].includes(ro.address), ro.address);

  const status = await runCli(['status', '--controller', lab.adminUrl('eu')], 30_000);
  assert.match(status.stdout, /data services\n {2}shop\/orders {3}max lag 2 s {3}primary shop\/pg-1/);
  const check = await runCli(['check', '--controller', lab.adminUrl('eu')], 30_000);
  assert.match(check.stdout, /√ ok {4}data service shop\/orders has a primary: shop\/pg-1/);

  // A transaction both replicas replay first, so their lag has a time to count from (none replayed: lag unknown, over the bound).
  // Waiting on the replicas' replay positions, not on "lag 0": lag is measured against the primary's last
  // probe, which may predate the insert on a busy machine.
  await c.sql(c.primary, `INSERT INTO items (v) VALUES ('before')`);
  const after = parseLsn(String((await c.sql<{ lsn: string }>(c.primary, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn));
  await eventually(async () => {
    const d = await route();
    return d && d.members.filter((m) => m.role === 'replica' && m.position !== undefined && parseLsn(m.position) >= after && m.lagSeconds === 0).length === 2 ? d : undefined;
  }, { what: 'both replicas replayed the insert', timeoutMs: 60_000, intervalMs: 250 });
  // Replay paused on replica 2 (pg-3); writes go on: it falls behind and leaves the reads.
  await c.pauseReplay(c.replicas[1]!);
  const pausedAt = Date.now();
  let writes = 0;
  const writer = setInterval(() => void c.sql(c.primary, `INSERT INTO items (v) VALUES ('x${writes++}')`).catch(() => undefined), 100);
  try {
    const lagging = await eventually(async () => {
      const d = await route();
      const m = d?.members.find((x) => x.member === 'shop/pg-3');
      return d && m && !m.withinBound && !d.reads.order.includes('shop/pg-3') ? d : undefined;
    }, { what: 'pg-3 out of the reads once it is more than 2 s behind', timeoutMs: 60_000, intervalMs: 250 });
    process.stdout.write(`# pg-3 left the reads ${((Date.now() - pausedAt) / 1000).toFixed(1)} s after replay was paused (bound 2 s, probe every 250 ms)\n`);
    assert.ok(lagging.reads.order.includes('shop/pg-2'));
    const m = lagging.members.find((x) => x.member === 'shop/pg-3')!;
    assert.ok((m.lagBytes ?? 0) > 0 && (m.lagSeconds ?? 0) > 2, JSON.stringify(m));
    // Reads through the mesh now reach pg-2 only.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await reached(RO))?.address ?? 'none');
      return seen.size === 1 && seen.has(host(2)) ? seen : undefined;
    }, { what: 'reads through orders-ro reach pg-2 only', timeoutMs: 60_000, intervalMs: 500 });
    const warn = await runCli(['check', '--controller', lab.adminUrl('eu')], 30_000);
    assert.match(warn.stdout, /replicas of shop\/orders are within 2 s: shop\/pg-3 \(\d+\.\d s behind\)/);
  } finally {
    clearInterval(writer);
    await c.resumeReplay(c.replicas[1]!);
  }
  await eventually(async () => {
    const d = await route();
    return d?.reads.order.includes('shop/pg-3') ? d : undefined;
  }, { what: 'pg-3 back in the reads once it caught up', timeoutMs: 60_000, intervalMs: 250 });
});

test('the primary stopped and a replica promoted: writes follow', { timeout: 240_000 }, async () => {
  const c = cluster!;
  await c.stop(c.primary);
  await c.promote(c.replicas[0]!);
  const promotedAt = Date.now();
  const d = await eventually(async () => {
    const v = await route();
    return v?.primary === 'shop/pg-2' ? v : undefined;
  }, { what: 'writes to the promoted pg-2', timeoutMs: 30_000, intervalMs: 100 });
  process.stdout.write(`# writes followed the promotion ${((Date.now() - promotedAt) / 1000).toFixed(2)} s after it\n`);
  assert.deepEqual(d.writes.order, ['shop/pg-2']);
  // Through the mesh: the read-write name reaches the promoted server, which takes a write.
  const rw = await eventually(async () => {
    const r = await reached(RW);
    return r?.address === host(2) && !r.inRecovery ? r : undefined;
  }, { what: 'orders-rw reaching the promoted pg-2', timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(rw.inRecovery, false);
  process.stdout.write(`# a connection to orders-rw reached the promoted server ${((Date.now() - promotedAt) / 1000).toFixed(2)} s after the promotion\n`);
  const old = d.members.find((m) => m.member === 'shop/pg-1')!;
  assert.equal(old.role, 'unreachable');
  assert.ok(!d.reads.order.includes('shop/pg-1'));
});
