// Lag measured continuously and calls routed by it, against real PostgreSQL
// streaming replication, through the mesh (the TCP read-write and read-only
// names), across two regions: the primary and one replica in eu, the other
// replica in us. Each controller probes its own region's members and hears of
// the other's through its signed state: /v1/status, `entente status` and
// `entente check` show roles, lag and where reads and writes go; us's writes
// cross to eu's primary. Replay paused on us's replica: it leaves the reads and
// comes back; a caller that just wrote reads from the primary (stickiness);
// a replica promoted while the old primary runs takes every write.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { DataRouteView } from '../../src/controller/data-probes.js';
import { exitWatchdog, randomIpPrefix, runCli, startTestMesh } from './lab-harness.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { Socket } from 'node:net';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseLsn } from '../../src/data/lsn.js';

exitWatchdog();

const prefix = randomIpPrefix(231, 234);
// Third octet 241: no lab region uses it, nor the pg-probe test (240).
const host = (n: number): string => `${prefix}.241.${n}`;
const CLIENT = host(20);
/** A second caller identity (service account orders-reader) on the same node: it never writes. */
const READER = host(21);
const RW = `${host(30)}:5432`;
const RO = `${host(31)}:5432`;
/** A client in us, whose writes cross to eu's primary through the gateways. */
const US_CLIENT = host(22);
const US_RW = `${host(32)}:5432`;
const US_RO = `${host(33)}:5432`;
let cluster: PgCluster | undefined;
let lab: Lab;
let browser: Browser | undefined;
/** eu's dashboard, in Debian's Chromium: its data services panel. */
let page: Page;
const pageErrors: string[] = [];
const ARTIFACTS = resolve(process.env.ENTENTE_TEST_ARTIFACTS ?? 'test-artifacts');

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: 'entente.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec });

before(async () => {
  cluster = await startPgCluster({ primary: { host: host(1), port: 5432 }, replicas: [{ host: host(2), port: 5432 }, { host: host(3), port: 5432 }] });
  const shared = [
    doc('Service', 'orders-pg', { ports: [{ port: 5432, targetPort: 5432, protocol: 'tcp' }], export: true }),
    doc('DataRoute', 'orders', { members: { service: 'orders-pg', port: 5432 }, protocol: 'postgresql', maxLag: '5s', probe: { user: 'entente', interval: '250ms', timeout: '1s' }, tcp: { readWrite: 'orders-rw', readOnly: 'orders-ro', stickyAfterWrite: '2s' } }),
  ].join('---\n');
  // The primary and one replica in eu, the other replica in us (probed by us's controller, heard of by eu through us's state).
  const members = [1, 2].map((n) => doc('Workload', `pg-${n}`, { service: 'orders-pg', serviceAccount: 'orders-pg', node: 'eu-node-1', address: host(n) })).join('---\n');
  const usMember = doc('Workload', 'pg-3', { service: 'orders-pg', serviceAccount: 'orders-pg', node: 'us-node-1', address: host(3) });
  // A client on eu-node-2, calling through its agent's outbound ports for the two names.
  const client = [
    doc('Service', 'orders-client', { ports: [{ port: 9, targetPort: 9, protocol: 'tcp' }] }),
    doc('AuthorizationPolicy', 'orders-pg-clients', { selector: { services: ['orders-pg'] }, action: 'ALLOW', rules: [{ from: [{ principals: ['spiffe://eu.entente.lab/ns/shop/sa/orders-client', 'spiffe://eu.entente.lab/ns/shop/sa/orders-reader', 'spiffe://us.entente.lab/ns/shop/sa/orders-client'] }] }] }),
  ].join('---\n');
  const clientWorkload = [
    doc('Workload', 'orders-client-1', { service: 'orders-client', serviceAccount: 'orders-client', node: 'eu-node-2', address: CLIENT, attest: { uid: process.getuid?.() ?? 0 } }),
    doc('Workload', 'orders-reader-1', { service: 'orders-client', serviceAccount: 'orders-reader', node: 'eu-node-2', address: READER, attest: { uid: process.getuid?.() ?? 0 } }),
  ].join('---\n');
  lab = await startTestMesh(['eu', 'us'], prefix, {
    extra: {
      sharedYaml: `${shared}---\n${client}`,
      regionYaml: {
        eu: `${members}---\n${clientWorkload}`,
        us: `${usMember}---\n${doc('Workload', 'orders-client-us', { service: 'orders-client', serviceAccount: 'orders-client', node: 'us-node-2', address: US_CLIENT, attest: { uid: process.getuid?.() ?? 0 } })}`,
      },
      outboundPorts: {
        'eu-node-2': [{ host: 'orders-rw.shop.mesh', port: 5432, listen: RW }, { host: 'orders-ro.shop.mesh', port: 5432, listen: RO }],
        'us-node-2': [{ host: 'orders-rw.shop.mesh', port: 5432, listen: US_RW }, { host: 'orders-ro.shop.mesh', port: 5432, listen: US_RO }],
      },
    },
  });
  // eu's dashboard in Debian's Chromium (--no-sandbox as root, as in dashboard.test.ts).
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(`${lab.adminUrl('eu')}/dashboard/`);
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await lab?.stop();
  await cluster?.close();
});

/** A query over a connection to a data-route name, dialled from a client workload's address through its agent. */
async function viaMesh<R extends Record<string, unknown>>(listen: string, from: string, query: string): Promise<R | undefined> {
  const [h, p] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  // The agent knows its caller by source address: every connection leaves from the client workload's.
  class FromClient extends Socket {
    override connect(...args: unknown[]): this {
      return super.connect({ port: args[0] as number, host: args[1] as string, localAddress: from });
    }
  }
  const c = new pg.Client({ host: h, port: p, user: 'entente', database: 'postgres', connectionTimeoutMillis: 10_000, stream: () => new FromClient() });
  try {
    await c.connect();
    return (await c.query<R>(query)).rows[0];
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Which server a connection to a data-route name reached. */
async function reached(listen: string, from = CLIENT): Promise<{ address: string; inRecovery: boolean } | undefined> {
  const r = await viaMesh<{ a: string; r: boolean }>(listen, from, 'SELECT host(inet_server_addr()) AS a, pg_is_in_recovery() AS r');
  return r ? { address: r.a, inRecovery: r.r } : undefined;
}

async function route(region = 'eu'): Promise<DataRouteView | undefined> {
  const r = await httpJson<{ data?: DataRouteView[] }>(`${lab.adminUrl(region)}/v1/status`, { timeoutMs: 5000 }).catch(() => undefined);
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
  // From the reader, which never wrote: a caller that just wrote would read from the primary (stickiness).
  const ro = await eventually(async () => reached(RO, READER), { what: 'a connection to orders-ro', timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(ro.inRecovery, true);
  assert.equal(ro.address, host(2), 'the nearest replica: eu\'s own');
  assert.deepEqual(healthy.reads.order, ['shop/pg-2', 'shop/pg-3@us', 'shop/pg-1'], "eu's replica, then us's, then the primary");

  // us: its replica is judged against eu's primary, as published in eu's signed state; its writes cross to eu.
  const us = await eventually(async () => {
    const d = await route('us');
    return d?.primary === 'shop/pg-1@eu' && d.members.find((m) => m.member === 'shop/pg-3')?.withinBound ? d : undefined;
  }, { what: "us sees eu's primary and its own replica within the bound", timeoutMs: 60_000, intervalMs: 500 });
  assert.deepEqual(us.writes.order, ['shop/pg-1@eu']);
  assert.equal(us.reads.order[0], 'shop/pg-3');
  const usRw = await eventually(async () => reached(US_RW, US_CLIENT), { what: "a connection from us to orders-rw (eu's primary)", timeoutMs: 60_000, intervalMs: 500 });
  assert.deepEqual(usRw, { address: host(1), inRecovery: false }, "us's writes reach the primary in eu, through the gateways");
  await eventually(async () => {
    const r = await reached(US_RO, US_CLIENT);
    return r?.address === host(3) && r.inRecovery ? r : undefined;
  }, { what: "us's reads on its own replica once the write's window is over", timeoutMs: 60_000, intervalMs: 500 });

  // The dashboard's data services panel: the route, its primary, every member with its region.
  await page.locator('[data-testid="data-route"][data-route="shop/orders"][data-primary="shop/pg-1"]').waitFor({ timeout: 90_000 });
  await page.locator('[data-testid="data-member"][data-member="shop/pg-3@us"][data-within="yes"]').waitFor({ timeout: 90_000 });
  assert.equal(await page.locator('[data-testid="data-member"]').count(), 3);
  assert.match((await page.locator('[data-testid="data-writes"]').textContent()) ?? '', /shop\/pg-1/);

  const status = await runCli(['status', '--controller', lab.adminUrl('eu')], 30_000);
  assert.match(status.stdout, /data services\n {2}shop\/orders {3}max lag 5 s {3}primary shop\/pg-1/);
  const check = await runCli(['check', '--controller', lab.adminUrl('eu')], 30_000);
  assert.match(check.stdout, /√ ok {4}data service shop\/orders has a primary: shop\/pg-1/);

  // A transaction both replicas replay first, so their lag has a time to count from (none replayed: lag unknown, over the bound).
  // Waiting on the replicas' replay positions, not on "lag 0": lag is measured against the primary's last
  // probe, which may predate the insert on a busy machine.
  await c.sql(c.primary, `INSERT INTO items (v) VALUES ('before')`);
  const after = parseLsn(String((await c.sql<{ lsn: string }>(c.primary, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn));
  await eventually(async () => {
    const d = await route();
    return d && d.members.filter((m) => m.role === 'replica' && m.position !== undefined && parseLsn(m.position) >= after && m.withinBound).length === 2 ? d : undefined;
  }, { what: 'both replicas replayed the insert', timeoutMs: 60_000, intervalMs: 250 });
  // Replay paused on replica 2 (pg-3); writes go on: it falls behind and leaves the reads.
  await c.pauseReplay(c.replicas[1]!);
  const pausedAt = Date.now();
  let writes = 0;
  const writer = setInterval(() => void c.sql(c.primary, `INSERT INTO items (v) VALUES ('x${writes++}')`).catch(() => undefined), 100);
  try {
    const lagging = await eventually(async () => {
      const d = await route();
      const m = d?.members.find((x) => x.member === 'shop/pg-3@us');
      return d && m && !m.withinBound && !d.reads.order.includes('shop/pg-3@us') ? d : undefined;
    }, { what: 'pg-3 out of the reads once it is more than 5 s behind', timeoutMs: 60_000, intervalMs: 250 });
    process.stdout.write(`# pg-3 (us) left eu's reads ${((Date.now() - pausedAt) / 1000).toFixed(1)} s after replay was paused (bound 5 s, probe every 250 ms)\n`);
    assert.ok(lagging.reads.order.includes('shop/pg-2'));
    const m = lagging.members.find((x) => x.member === 'shop/pg-3@us')!;
    assert.ok((m.lagSeconds ?? 0) > 5, JSON.stringify(m));
    const own = (await route('us'))!.members.find((x) => x.member === 'shop/pg-3')!;
    assert.ok(!own.withinBound && (own.lagBytes ?? 0) > 0 && own.paused === true, `us's own view of pg-3: ${JSON.stringify(own)}`);
    // Reads through the mesh now reach pg-2 only.
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await reached(RO, READER))?.address ?? 'none');
      return seen.size === 1 && seen.has(host(2)) ? seen : undefined;
    }, { what: 'reads through orders-ro reach pg-2 only', timeoutMs: 60_000, intervalMs: 500 });
    // The panel shows it over the bound, and out of the reads.
    await page.locator('[data-testid="data-member"][data-member="shop/pg-3@us"][data-within="no"]').waitFor({ timeout: 90_000 });
    assert.doesNotMatch((await page.locator('[data-testid="data-reads"]').textContent()) ?? '', /pg-3/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-data-services.png'), fullPage: true });
    const warn = await runCli(['check', '--controller', lab.adminUrl('eu')], 30_000);
    assert.match(warn.stdout, /replicas of shop\/orders are within 5 s: shop\/pg-3@us \(\d+\.\d s behind\)/);
  } finally {
    clearInterval(writer);
    await c.resumeReplay(c.replicas[1]!);
  }
  await eventually(async () => {
    const d = await route();
    return d?.reads.order.includes('shop/pg-3@us') ? d : undefined;
  }, { what: 'pg-3 back in the reads once it caught up', timeoutMs: 60_000, intervalMs: 250 });
  await page.locator('[data-testid="data-member"][data-member="shop/pg-3@us"][data-within="yes"]').waitFor({ timeout: 90_000 });
  assert.deepEqual(pageErrors, [], 'the dashboard logged no error');
});

test('TCP read-your-writes: after a write, the same caller reads from the primary for stickyAfterWrite; others read replicas', { timeout: 240_000 }, async () => {
  const c = cluster!;
  await eventually(async () => ((await route())?.reads.order.length ?? 0) === 3, { what: 'both replicas in the reads', timeoutMs: 60_000, intervalMs: 250 });
  // Replay paused on both replicas: a row written now is on the primary only, so whoever sees it read from the primary.
  for (const r of c.replicas) await c.pauseReplay(r);
  try {
    const mark = `ryw-${Date.now()}`;
    const wrote = await viaMesh<{ id: number }>(RW, CLIENT, `INSERT INTO items (v) VALUES ('${mark}') RETURNING id`);
    assert.ok(wrote && wrote.id > 0, 'the write through orders-rw');
    const own = await viaMesh<{ n: string; r: boolean }>(RO, CLIENT, `SELECT count(*)::text AS n, pg_is_in_recovery() AS r FROM items WHERE v = '${mark}'`);
    assert.deepEqual(own, { n: '1', r: false }, 'the writer reads its own write, from the primary');
    const other = await viaMesh<{ n: string; r: boolean }>(RO, READER, `SELECT count(*)::text AS n, pg_is_in_recovery() AS r FROM items WHERE v = '${mark}'`);
    assert.deepEqual(other, { n: '0', r: true }, 'another caller reads a (paused) replica, which has not replayed the write');
  } finally {
    for (const r of c.replicas) await c.resumeReplay(r);
  }
  // The window ends 2 s after the write connection closed (and the paused replicas, behind by then, come back once
  // they replay): the writer's reads go back to the replicas.
  const back = await eventually(async () => {
    const r = await reached(RO, CLIENT);
    return r?.inRecovery ? r : undefined;
  }, { what: "the writer's reads back on a replica after stickyAfterWrite", timeoutMs: 60_000, intervalMs: 250 });
  assert.ok([host(2), host(3)].includes(back.address));
  const metrics = await fetch(`http://${lab.topology.regions[0]!.agents[1]!.ip}:${PORTS.agentMetrics}/metrics`).then((r) => r.text()).catch(() => '');
  assert.match(metrics, /entente_agent_sticky_reads_total\{[^}]*route="shop\/orders"[^}]*\} [1-9]/);
});

test('a replica promoted while the old primary still runs: the higher timeline takes the writes, the old one gets none', { timeout: 240_000 }, async () => {
  const c = cluster!;
  const before = await c.sql<{ n: string }>(c.primary, `SELECT count(*)::text AS n FROM items WHERE v LIKE 'after-promotion-%'`);
  assert.equal(before[0]!.n, '0');
  await c.promote(c.replicas[0]!);
  const promotedAt = Date.now();
  // Both probe as primary now; pg-2 is on timeline 2, pg-1 still on 1.
  const d = await eventually(async () => {
    const v = await route();
    return v?.primary === 'shop/pg-2' && v.members.filter((m) => m.role === 'primary').length === 2 ? v : undefined;
  }, { what: 'writes to the promoted pg-2, with pg-1 still answering as primary', timeoutMs: 30_000, intervalMs: 100 });
  process.stdout.write(`# writes followed the promotion ${((Date.now() - promotedAt) / 1000).toFixed(2)} s after it\n`);
  assert.deepEqual(d.writes.order, ['shop/pg-2']);
  assert.match(d.writes.why, /timeline 2/);
  // Through the mesh: new connections to the read-write name reach the promoted server only.
  await eventually(async () => (await reached(RW))?.address === host(2), { what: 'orders-rw reaching the promoted pg-2', timeoutMs: 30_000, intervalMs: 200 });
  process.stdout.write(`# a connection to orders-rw reached the promoted server ${((Date.now() - promotedAt) / 1000).toFixed(2)} s after the promotion\n`);
  for (let i = 0; i < 10; i++) {
    const w = await viaMesh<{ a: string }>(RW, CLIENT, `INSERT INTO items (v) VALUES ('after-promotion-${i}') RETURNING host(inet_server_addr()) AS a`);
    assert.equal(w?.a, host(2), `write ${i} went to the promoted server`);
  }
  const onOld = await c.sql<{ n: string }>(c.primary, `SELECT count(*)::text AS n FROM items WHERE v LIKE 'after-promotion-%'`);
  const onNew = await c.sql<{ n: string }>(c.replicas[0]!, `SELECT count(*)::text AS n FROM items WHERE v LIKE 'after-promotion-%'`);
  assert.deepEqual([onOld[0]!.n, onNew[0]!.n], ['0', '10'], 'nothing written to the old primary');
});

test('the old primary stopped: it leaves the routes, writes stay on the promoted server', { timeout: 240_000 }, async () => {
  const c = cluster!;
  await c.stop(c.primary);
  const d = await eventually(async () => {
    const v = await route();
    return v?.members.find((m) => m.member === 'shop/pg-1')?.role === 'unreachable' ? v : undefined;
  }, { what: 'pg-1 unreachable', timeoutMs: 30_000, intervalMs: 100 });
  assert.deepEqual(d.writes.order, ['shop/pg-2']);
  assert.ok(!d.reads.order.includes('shop/pg-1'));
  const rw = await eventually(async () => {
    const r = await reached(RW);
    return r?.address === host(2) && !r.inRecovery ? r : undefined;
  }, { what: 'orders-rw reaching pg-2', timeoutMs: 30_000, intervalMs: 200 });
  assert.equal(rw.inRecovery, false);
});
