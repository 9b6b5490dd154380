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
import { DataProbes } from './data-probes.js';

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
