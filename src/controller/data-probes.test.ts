// The region's data probes with a scripted prober: members found from the
// resource set, roles and lag in the view, a paused (lagging) replica out of
// the reads, a failing probe over the bound, and a promotion followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createLogger } from '../core/log.js';
import { assembleResources, parseResourceText } from '../policy/load-resources.js';
import { eventually } from '../core/eventually.js';
import { lsnFromBytes } from '../data/lsn.js';
import type { PgProbeResult, PgProbeTarget } from '../data/pg-probe.js';
import type { HttpProbeTarget } from '../data/http-probe.js';
import { DataProbes } from './data-probes.js';
import type { DataMemberSummary } from '../mesh/mesh-config.js';

const TEXT = `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: orders-pg, namespace: shop }
spec: { ports: [{ port: 5432, targetPort: 15432, protocol: tcp }] }
---
apiVersion: entente.dev/v1alpha1
kind: DataRoute
metadata: { name: orders, namespace: shop }
spec:
  members: { service: orders-pg, port: 5432 }
  protocol: postgresql
  maxLag: 2s
  probe: { user: entente, interval: 50ms, timeout: 1s }
  tcp: { readWrite: orders-rw, readOnly: orders-ro }
${['a', 'b', 'c'].map((n, i) => `---
apiVersion: entente.dev/v1alpha1
kind: Workload
metadata: { name: pg-${n}, namespace: shop }
spec: { service: orders-pg, serviceAccount: orders-pg, node: node-${i}, address: 10.0.0.${i + 1} }
`).join('')}`;

test('roles, lag, the reads and writes each member would take, and a promotion', async (t) => {
  const set = assembleResources([parseResourceText('r.yaml', TEXT)]);
  assert.deepEqual(set.errors, []);
  let now = 1_000_000;
  const answers = new Map<string, PgProbeResult>();
  const replica = (replayed: number, ago: number): PgProbeResult => ({ role: 'replica', receiveLsn: lsnFromBytes(BigInt(replayed)), replayLsn: lsnFromBytes(BigInt(replayed)), replayTimestamp: new Date(now - ago), paused: false });
  answers.set('10.0.0.1', { role: 'primary', lsn: lsnFromBytes(5000n) });
  answers.set('10.0.0.2', replica(5000, 100));
  answers.set('10.0.0.3', replica(4000, 10_000));
  const seen: PgProbeTarget[] = [];
  const probes = new DataProbes({
    region: 'eu',
    log: createLogger('test', {}, { level: 'error' }),
    registry: new Registry(),
    now: () => now,
    probe: async (target) => {
      seen.push(target);
      return answers.get(target.host) ?? { role: 'unreachable', error: { code: 'PG_CONNECT', message: 'refused' } };
    },
  });
  t.after(() => probes.stop());
  probes.configure(set.resources);
  const view = await eventually(async () => {
    const v = probes.view()[0];
    return v && v.members.every((m) => m.role !== 'unknown') ? v : undefined;
  }, { what: 'every member probed', timeoutMs: 10_000, intervalMs: 20 });
  assert.equal(seen[0]!.port, 15432, 'the target port of the Service port');
  assert.equal(seen[0]!.user, 'entente');
  assert.equal(view.route, 'shop/orders');
  assert.equal(view.primary, 'shop/pg-a');
  const b = view.members.find((m) => m.member === 'shop/pg-b')!;
  const c = view.members.find((m) => m.member === 'shop/pg-c')!;
  assert.deepEqual([b.role, b.lagBytes, b.lagSeconds, b.withinBound], ['replica', 0, 0, true]);
  assert.deepEqual([c.role, c.lagBytes, c.lagSeconds, c.withinBound], ['replica', 1000, 10, false]);
  assert.deepEqual(view.reads.order, ['shop/pg-b', 'shop/pg-a']);
  assert.deepEqual(view.writes.order, ['shop/pg-a']);

  // The primary dies and b is promoted: writes follow, a failing member serves nothing.
  answers.delete('10.0.0.1');
  answers.set('10.0.0.2', { role: 'primary', lsn: lsnFromBytes(6000n) });
  now += 100;
  const after = await eventually(async () => {
    const v = probes.view()[0]!;
    return v.primary === 'shop/pg-b' && v.members.find((m) => m.member === 'shop/pg-a')?.role === 'unreachable' ? v : undefined;
  }, { what: 'the promotion followed', timeoutMs: 10_000, intervalMs: 20 });
  assert.deepEqual(after.writes.order, ['shop/pg-b']);
  assert.equal(after.members.find((m) => m.member === 'shop/pg-a')!.error?.code, 'PG_CONNECT');
  assert.ok(!after.reads.order.includes('shop/pg-a'));
});

/** One replica of ours (pg-us) and, in eu's signed state, the primary and a replica of eu, plus a member eu may not speak for. */
const US_TEXT = TEXT.split('---\n').slice(0, 2).join('---\n') + `---
apiVersion: entente.dev/v1alpha1
kind: Workload
metadata: { name: pg-us, namespace: shop }
spec: { service: orders-pg, serviceAccount: orders-pg, node: node-us, address: 10.1.0.1 }
`;

test("members in another region: writes to its primary, our replica judged against the primary's published position, its replicas by RTT, and what it may not claim refused", async (t) => {
  const set = assembleResources([parseResourceText('r.yaml', US_TEXT)]);
  assert.deepEqual(set.errors, []);
  let now = 2_000_000;
  // Our replica has replayed position 5000; its last replayed commit is 30 s old (an idle primary).
  let usReplica: PgProbeResult = { role: 'replica', receiveLsn: lsnFromBytes(5000n), replayLsn: lsnFromBytes(5000n), replayTimestamp: new Date(now - 30_000), paused: false };
  let euState = 1;
  const heardAt = now - 400;
  const euMembers = (): DataMemberSummary[] => [
    { route: 'shop/orders', workload: 'pg-eu-1', role: 'primary', probedAt: heardAt, position: (5000).toString(16), timeline: 1 },
    { route: 'shop/orders', workload: 'pg-eu-2', role: 'replica', probedAt: heardAt, position: (5000).toString(16), lagSeconds: 0.1, withinBound: true },
    // Not among eu's exported endpoints of orders-pg: eu cannot speak for it.
    { route: 'shop/orders', workload: 'pg-us', role: 'primary', probedAt: heardAt, position: 'ffff', timeline: 9 },
  ];
  let published = euMembers;
  const endpoint = (name: string) => ({ name, namespace: 'shop', service: 'orders-pg', serviceAccount: 'orders-pg', node: 'eu-node', address: '10.2.0.1' });
  const registry = new Registry();
  const probes = new DataProbes({
    region: 'us',
    log: createLogger('test', {}, { level: 'error' }),
    registry,
    now: () => now,
    remoteGraceMs: 2000,
    probe: async () => usReplica,
    remote: () => [{ region: 'eu', version: euState, rttMs: 80, members: published(), exportedServices: [{ namespace: 'shop', name: 'orders-pg', ports: [{ port: 5432, targetPort: 15432, protocol: 'tcp' }], endpoints: [endpoint('pg-eu-1'), endpoint('pg-eu-2')] }] }],
  });
  t.after(() => probes.stop());
  probes.configure(set.resources);
  const v = await eventually(async () => {
    const x = probes.view()[0];
    return x?.members.find((m) => m.member === 'shop/pg-us')?.role === 'replica' ? x : undefined;
  }, { what: 'pg-us probed', timeoutMs: 10_000, intervalMs: 20 });
  assert.equal(v.primary, 'shop/pg-eu-1@eu', 'writes go to the primary in eu');
  assert.deepEqual(v.writes.order, ['shop/pg-eu-1@eu']);
  const us = v.members.find((m) => m.member === 'shop/pg-us')!;
  // Caught up with eu's position read 400 ms ago: at most 0.4 s behind, although its last commit is 30 s old.
  assert.deepEqual([us.region, us.lagSeconds, us.withinBound], ['us', 0.4, true]);
  assert.deepEqual(v.reads.order, ['shop/pg-us', 'shop/pg-eu-2@eu', 'shop/pg-eu-1@eu'], 'ours first (RTT 0), then eu by RTT, the primary last');
  assert.equal(v.members.filter((m) => m.member.startsWith('shop/pg-us@')).length, 0, 'the claim eu may not make is dropped');
  assert.match(await registry.getSingleMetricAsString('entente_data_remote_refused_total'), /region="eu",reason="not_exported_member"} 1/);
  // Counted once per state version, however often it is read.
  probes.view();
  assert.match(await registry.getSingleMetricAsString('entente_data_remote_refused_total'), /} 1\n?$/);
  const wire = probes.wire()[0]!;
  assert.deepEqual(wire.writes, [{ workload: 'pg-eu-1', region: 'eu' }]);
  assert.deepEqual(wire.reads.map((m) => `${m.workload}@${m.region}`), ['pg-us@us', 'pg-eu-2@eu', 'pg-eu-1@eu']);
  assert.equal(wire.stickyAfterWriteMs, 5000);
  // The region state: our member only, with the lag we measured.
  const summary = probes.regionSummary();
  assert.deepEqual(summary.map((m) => [m.workload, m.role, m.withinBound]), [['pg-us', 'replica', true]]);

  // eu's primary moves on and our replica stops replaying: once two probes agree, it leaves the reads.
  euState++;
  usReplica = { ...usReplica, receiveLsn: lsnFromBytes(9000n) };
  const moved = (): DataMemberSummary[] => euMembers().map((m) => (m.role === 'primary' ? { ...m, position: (9000).toString(16) } : m));
  published = moved;
  const out = await eventually(async () => {
    const x = probes.view()[0]!;
    return x.members.find((m) => m.member === 'shop/pg-us')!.withinBound ? undefined : x;
  }, { what: 'pg-us out of the bound', timeoutMs: 10_000, intervalMs: 10 });
  const outUs = out.members.find((m) => m.member === 'shop/pg-us')!;
  assert.deepEqual([outUs.lagBytes, outUs.lagSeconds], [4000, 30]);
  assert.deepEqual(out.reads.order, ['shop/pg-eu-2@eu', 'shop/pg-eu-1@eu']);

  // eu's state goes quiet: past staleAfter (3 s) plus the grace (2 s), its members serve nothing.
  now += 6000;
  usReplica = { ...usReplica, replayTimestamp: new Date(now - 100) };
  const quiet = await eventually(async () => {
    const x = probes.view()[0]!;
    return x.primary === undefined ? x : undefined;
  }, { what: "eu's members stale", timeoutMs: 10_000, intervalMs: 10 });
  assert.deepEqual(quiet.writes.order, []);
  assert.match(quiet.writes.why, /no fresh probe of a primary/);
});

test('an HTTP DataRoute: its lag endpoint probed, reported lag used, the http settings and positions pushed, positions refreshed at most every second', async (t) => {
  const HTTP = `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: orders-api, namespace: shop }
spec: { ports: [{ port: 80, targetPort: 8080, protocol: http }] }
---
apiVersion: entente.dev/v1alpha1
kind: DataRoute
metadata: { name: orders, namespace: shop }
spec:
  members: { service: orders-api, port: 80 }
  protocol: http
  maxLag: 2s
  probe: { path: /lag, interval: 50ms }
${['a', 'b', 'c'].map((n, i) => `---
apiVersion: entente.dev/v1alpha1
kind: Workload
metadata: { name: api-${n}, namespace: shop }
spec: { service: orders-api, serviceAccount: orders-api, node: node-${i}, address: 10.0.1.${i + 1} }
`).join('')}`;
  const set = assembleResources([parseResourceText('r.yaml', HTTP)]);
  assert.deepEqual(set.errors, []);
  let now = 1_000_000;
  let primaryPosition = 100n;
  const seen: HttpProbeTarget[] = [];
  let pushes = 0;
  const probes = new DataProbes({
    region: 'eu',
    log: createLogger('test', {}, { level: 'error' }),
    registry: new Registry(),
    now: () => now,
    httpProbe: async (target) => {
      seen.push(target);
      if (target.host === '10.0.1.1') return { role: 'primary', position: primaryPosition };
      // b reports itself behind by 0.5 s, c by 30 s (and 10 positions behind).
      return target.host === '10.0.1.2' ? { role: 'replica', position: primaryPosition, lagSeconds: 0.5 } : { role: 'replica', position: primaryPosition - 10n, lagSeconds: 30 };
    },
    onDecisionChange: () => pushes++,
  });
  t.after(() => probes.stop());
  probes.configure(set.resources);
  const view = await eventually(async () => {
    const v = probes.view()[0];
    return v && v.members.every((m) => m.role !== 'unknown') && v.members.filter((m) => m.withinBound).length === 2 ? v : undefined;
  }, { what: 'every member probed', timeoutMs: 10_000, intervalMs: 20 });
  assert.deepEqual({ host: seen[0]!.host, port: seen[0]!.port, path: seen[0]!.path }, { host: '10.0.1.1', port: 8080, path: '/lag' });
  assert.deepEqual(view.reads.order, ['shop/api-b', 'shop/api-a'], 'c reports 30 s: out of the 2 s bound');
  assert.equal(view.members.find((m) => m.member === 'shop/api-b')!.lagSeconds, 0, "a caught-up replica: the primary's position bounds it below its own report");
  assert.equal(view.members.find((m) => m.member === 'shop/api-c')!.lagSeconds, 30);
  assert.equal(view.members.find((m) => m.member === 'shop/api-a')!.position, '100', 'positions in decimal, as the service gives them');
  const wire = probes.wire()[0]!;
  assert.deepEqual(wire.http, { writes: [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'] }], tokenHeader: 'x-entente-consistency', positionPath: '/lag' });
  assert.deepEqual(wire.writes, [{ workload: 'api-a', region: 'eu', position: (100).toString(16) }]);
  assert.deepEqual(wire.reads.map((m) => m.workload), ['api-b', 'api-a']);
  // Positions move on every probe; they are pushed at most every POSITION_REFRESH_MS, not on every probe.
  const before = pushes;
  for (let i = 0; i < 15; i++) {
    primaryPosition += 1n;
    const at = seen.length;
    await eventually(async () => (seen.length >= at + 3 ? true : undefined), { what: 'a round of probes', timeoutMs: 10_000, intervalMs: 5 });
    now += 100;
  }
  assert.ok(pushes - before >= 1 && pushes - before <= 2, `1.5 s of moving positions, probed every 100 ms: one or two pushes, got ${pushes - before}`);
  await eventually(async () => (probes.wire()[0]!.writes[0]!.position === primaryPosition.toString(16) ? true : undefined), { what: 'the latest position on the wire', timeoutMs: 10_000, intervalMs: 5 });
});
