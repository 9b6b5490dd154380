// Leader election on a Lease, against the API double over HTTPS (its Leases
// follow the API: create, and update only with the resourceVersion read, else
// 409). Three candidates: exactly one leads at a time; a leader that dies
// (no release) is succeeded once the lease duration has passed on the others'
// clocks; a leader that stops gracefully releases at once; a leader cut off
// from the API server steps down within renewDeadline, before a successor
// may take over.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import { LeaseElector } from '../../src/kubernetes/lease-elector.js';
import type { KubeTransport } from '../../src/kubernetes/kube-transport.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';

const LEASE = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 100 };

describe('LeaseElector', () => {
  let fixture: ApiFixture;
  const electors: LeaseElector[] = [];
  /** The Lease each candidate runs for: two leaders of one Lease must never overlap. */
  const leaseOf = new Map<LeaseElector, string>();
  /** Moments where two candidates of one Lease both said they lead. */
  const overlaps: string[] = [];
  let watcher: NodeJS.Timeout | undefined;
  before(async () => {
    fixture = await startApiFixture();
    watcher = setInterval(() => {
      for (const name of new Set(leaseOf.values())) {
        const leaders = electors.filter((e) => leaseOf.get(e) === name && e.isLeader());
        if (leaders.length > 1) overlaps.push(`${leaders.length} leaders of ${name}`);
      }
    }, 5);
  });
  after(async () => {
    clearInterval(watcher);
    await Promise.all(electors.map((e) => e.stop({ release: false })));
    await fixture?.close();
  });

  const candidate = async (identity: string, name: string, transport?: KubeTransport): Promise<LeaseElector> => {
    const e = new LeaseElector({ transport: transport ?? (await fixture.transport()), namespace: 'entente-system', name, identity, log: createLogger('test', {}, { level: 'fatal' }), ...LEASE });
    electors.push(e);
    leaseOf.set(e, name);
    e.start();
    return e;
  };
  const leaderOf = (es: LeaseElector[]): Promise<LeaseElector> =>
    eventually(async () => {
      const l = es.filter((e) => e.isLeader());
      return l.length === 1 ? l[0] : undefined;
    }, { what: 'exactly one leader', timeoutMs: 20_000, intervalMs: 20 });

  it('one leader of three; a dead leader is succeeded after the lease duration, a stopped one at once', async () => {
    const es = await Promise.all(['c-1', 'c-2', 'c-3'].map((id) => candidate(id, 'entente-controller')));
    const first = await leaderOf(es);
    const lease = fixture.api.leases.get('entente-system/entente-controller') as { spec: { holderIdentity: string; leaseTransitions: number } };
    assert.ok(['c-1', 'c-2', 'c-3'].includes(lease.spec.holderIdentity));
    // Dies: no release. The others wait out the lease duration, then one takes over.
    const diedAt = Date.now();
    await first.stop({ release: false });
    const second = await leaderOf(es.filter((e) => e !== first));
    assert.ok(Date.now() - diedAt >= LEASE.leaseDurationMs, `succeeded after ${Date.now() - diedAt} ms, not before the lease duration ran out`);
    assert.equal((fixture.api.leases.get('entente-system/entente-controller') as { spec: { leaseTransitions: number } }).spec.leaseTransitions, 1);
    // Stops gracefully: releases, and the last candidate takes over well within the lease duration.
    const stoppedAt = Date.now();
    await second.stop();
    await leaderOf(es.filter((e) => e !== first && e !== second));
    assert.ok(Date.now() - stoppedAt < LEASE.leaseDurationMs, `released: took over in ${Date.now() - stoppedAt} ms`);
    assert.deepEqual(overlaps, [], 'never two leaders at once');
  });

  it('a leader cut off from the API server steps down within renewDeadline; another takes over after', async () => {
    let cut = false;
    const real = await fixture.transport();
    // The cut-off candidate's own view of the API server: every request fails while cut.
    const cuttable: KubeTransport = {
      get: (...a) => (cut ? Promise.reject(new Error('cut')) : real.get(...a)),
      watch: (...a) => (cut ? Promise.reject(new Error('cut')) : real.watch(...a)),
      send: (...a) => (cut ? Promise.reject(new Error('cut')) : real.send(...a)),
    };
    const a = await candidate('a', 'cut-lease', cuttable);
    await leaderOf([a]);
    const b = await candidate('b', 'cut-lease');
    cut = true;
    await eventually(async () => (!a.isLeader() ? true : undefined), { what: 'a steps down', timeoutMs: 20_000, intervalMs: 10 });
    await leaderOf([a, b]);
    assert.equal(b.isLeader(), true);
    // The order is what matters, whatever the machine's speed: a stepped down before b could take over.
    assert.deepEqual(overlaps, [], 'never two leaders at once');
  });
});
