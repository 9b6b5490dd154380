// LinkProber with an injected probe and a manual clock: reachability (up at the
// first answer, down after MISSES_TO_DOWN misses), loss, smoothed RTT, target
// changes and out-of-order results; deadline bounds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as flush } from 'node:timers/promises';
import {
  LOSS_WINDOW, MAX_PROBE_DEADLINE_MS, MIN_PROBE_DEADLINE_MS, MISSES_TO_DOWN, missesToDown, LinkProber, deadlineMs, type LinkTarget, type ProbeResult,
} from './link-prober.js';

const US: LinkTarget = { region: 'us', address: { host: '10.1.0.2', port: 15443 } };
const AP: LinkTarget = { region: 'ap', address: { host: '10.2.0.2', port: 15443 } };
const OK = (rttMs = 10): ProbeResult => ({ ok: true, rttMs });
const MISS: ProbeResult = { ok: false, reason: 'no answer within 2000 ms' };

/** A prober whose probes wait until the test settles them, in any order. */
function harness(targets: LinkTarget[] = [US]) {
  let clock = 1_000;
  let changes = 0;
  const pending: Array<{ target: LinkTarget; deadline: number; settle: (r: ProbeResult) => void }> = [];
  const prober = new LinkProber({
    now: () => clock,
    onChange: () => { changes++; },
    probe: (target, deadline) => new Promise((resolve) => pending.push({ target, deadline, settle: resolve })),
  });
  prober.setTargets(targets);
  changes = 0;
  /** One round where every link's probe gets `r` (a function of the target when given one). */
  const round = async (r: ProbeResult | ((t: LinkTarget) => ProbeResult)): Promise<void> => {
    const from = pending.length;
    prober.round();
    for (const p of pending.slice(from)) p.settle(typeof r === 'function' ? r(p.target) : r);
    await flush();
  };
  const status = (t: LinkTarget = US) => prober.status().find((s) => s.region === t.region)!;
  return { prober, pending, round, status, changes: () => changes, tick: (ms: number) => { clock += ms; }, now: () => clock };
}

describe('LinkProber', () => {
  it('starts unknown, and the first answer makes the link reachable (a change)', async () => {
    const h = harness();
    assert.equal(h.prober.reachable('us', US.address), undefined);
    assert.equal(h.status().reachable, undefined);
    h.tick(500);
    await h.round(OK(12));
    assert.equal(h.prober.reachable('us', US.address), true);
    assert.equal(h.status().since, 1_500);
    assert.equal(h.status().rttMs, 12);
    assert.equal(h.changes(), 1);
  });

  it('an unknown link needs MISSES_TO_DOWN misses too before it is unreachable (one lost first probe is not an outage)', async () => {
    const h = harness();
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), undefined);
    assert.equal(h.status().lastError, MISS.ok ? '' : MISS.reason);
    assert.equal(h.changes(), 0);
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), false);
    assert.equal(h.changes(), 1);
  });

  it('a lossy link needs more misses in a row before it is unreachable', async () => {
    const h = harness();
    // 40 probes, one in four lost: loss 0.25 before the streak.
    for (let i = 0; i < 40; i++) await h.round(i % 4 === 0 ? MISS : OK());
    assert.equal(h.prober.reachable('us', US.address), true);
    for (let i = 0; i < missesToDown(0.25) - 1; i++) await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), true, `${missesToDown(0.25) - 1} misses on a lossy link are not a cut`);
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), false);
  });

  it('missesToDown: 2 on a clean link, more with loss, at most 6', () => {
    assert.deepEqual([0, 0.01, 0.02, 0.05, 0.14, 0.5, 1].map(missesToDown), [2, 2, 3, 4, 5, 6, 6]);
  });

  it('one miss keeps a reachable link up; MISSES_TO_DOWN in a row bring it down; one answer brings it back', async () => {
    assert.equal(MISSES_TO_DOWN, 2);
    const h = harness();
    await h.round(OK());
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), true, 'one lost probe is not an outage');
    assert.equal(h.changes(), 1);
    await h.round(OK());
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), true, 'misses count in a row: the answer between reset them');
    h.tick(250);
    await h.round(MISS);
    assert.equal(h.prober.reachable('us', US.address), false);
    assert.equal(h.changes(), 2, 'going down is a change');
    assert.equal(h.status().since, 1_250);
    assert.equal(h.status().lastError, 'no answer within 2000 ms');
    await h.round(MISS);
    assert.equal(h.changes(), 2, 'staying down is not');
    h.tick(250);
    await h.round(OK());
    assert.equal(h.prober.reachable('us', US.address), true);
    assert.equal(h.status().lastError, undefined, 'an answer clears the last error');
    assert.equal(h.status().since, 1_500);
    assert.equal(h.changes(), 3);
  });

  it('loss is the share of misses over the last LOSS_WINDOW probes', async () => {
    const h = harness();
    for (const r of [OK(), MISS, OK(), OK()]) await h.round(r);
    assert.equal(h.status().loss, 0.25);
    assert.equal(h.status().probes, 4);
    // Fill the window with answers: the old miss falls out of it.
    for (let i = 0; i < LOSS_WINDOW; i++) await h.round(OK());
    assert.equal(h.status().loss, 0);
    for (let i = 0; i < LOSS_WINDOW / 2; i++) await h.round(MISS);
    assert.equal(h.status().loss, 0.5);
    assert.equal(h.status().probes, 4 + LOSS_WINDOW + LOSS_WINDOW / 2);
  });

  it('smooths the RTT (RFC 6298, 1/8 gain), and misses do not move it', async () => {
    const h = harness();
    await h.round(OK(100));
    assert.equal(h.status().rttMs, 100);
    await h.round(OK(200));
    assert.equal(h.status().rttMs, 112.5);
    await h.round(MISS);
    assert.equal(h.status().rttMs, 112.5);
    await h.round(OK(12.5));
    assert.equal(h.status().rttMs, 100);
  });

  it('setTargets keeps the history of links that stay, drops removed ones, and a re-added link starts unknown', async () => {
    const h = harness([US, AP]);
    await h.round((t) => (t.region === 'us' ? OK(40) : MISS));
    await h.round((t) => (t.region === 'us' ? OK(40) : MISS));
    assert.equal(h.prober.reachable('ap', AP.address), false);
    const before = h.changes();
    // Same address, new object: still the same link.
    h.prober.setTargets([{ region: 'us', address: { host: '10.1.0.2', port: 15443 } }]);
    assert.equal(h.changes(), before + 1, 'a removed link is a change');
    assert.deepEqual(h.prober.status().map((s) => [s.region, s.reachable, s.probes, s.rttMs]), [['us', true, 2, 40]]);
    assert.equal(h.prober.reachable('ap', AP.address), undefined);
    h.prober.setTargets([{ region: 'us', address: { host: '10.1.0.2', port: 15443 } }]);
    assert.equal(h.changes(), before + 1, 'the same targets again are no change');
    h.prober.setTargets([US, AP]);
    assert.equal(h.changes(), before + 2);
    assert.deepEqual(h.status(AP).reachable, undefined);
    assert.equal(h.status(AP).probes, 0);
  });

  it('the same address under another region is another link', async () => {
    const h = harness([US]);
    await h.round(OK());
    assert.equal(h.prober.reachable('ap', US.address), undefined);
  });

  it('a probe still in flight when its link is removed changes nothing', async () => {
    const h = harness([US]);
    h.prober.round();
    h.prober.setTargets([]);
    h.prober.setTargets([US]);
    h.pending[0]!.settle(OK());
    await flush();
    assert.equal(h.status().reachable, undefined, 'the result belongs to the removed link, not the new one');
    assert.equal(h.status().probes, 0);
  });

  it('a late result of an older probe does not overwrite a newer one', async () => {
    const h = harness();
    h.prober.round();
    h.prober.round();
    assert.equal(h.pending.length, 2, 'a second probe goes out while the first is in flight');
    h.pending[1]!.settle(OK(30));
    await flush();
    h.pending[0]!.settle(MISS);
    await flush();
    const s = h.status();
    assert.equal(s.reachable, true);
    assert.equal(s.lastError, undefined);
    assert.equal(s.probes, 1, 'the stale result is not counted');
    assert.equal(s.loss, 0);
  });

  it('bounds the probes in flight per link to about a deadline\'s worth of intervals', () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.prober.round();
    // Default interval 250 ms, deadline 2000 ms before any answer.
    assert.ok(h.pending.length >= 8 && h.pending.length <= 9, `${h.pending.length} probes in flight`);
  });

  it('passes the deadline the smoothed RTT gives', async () => {
    const h = harness();
    await h.round(OK(300));
    h.prober.round();
    assert.equal(h.pending.at(-1)!.deadline, 1000);
    assert.equal(h.pending[0]!.deadline, MAX_PROBE_DEADLINE_MS, 'no RTT known yet: the longest deadline');
  });

  it('start() probes at once and on every interval; stop() stops', async () => {
    let calls = 0;
    const prober = new LinkProber({ intervalMs: 10, probe: async () => { calls++; return OK(); } });
    prober.setTargets([US]);
    prober.start();
    prober.start();
    assert.equal(calls, 1, 'the first round runs at start, once');
    await new Promise((r) => setTimeout(r, 60));
    prober.stop();
    const after = calls;
    assert.ok(after >= 2, `${after} probes`);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(calls, after);
  });
});

describe('deadlineMs', () => {
  const table: Array<[number | undefined, number]> = [
    [undefined, MAX_PROBE_DEADLINE_MS],
    [0, MIN_PROBE_DEADLINE_MS],
    [100, MIN_PROBE_DEADLINE_MS],
    [200, 700],
    [300, 1000],
    [633, 1999],
    [634, MAX_PROBE_DEADLINE_MS],
    [60_000, MAX_PROBE_DEADLINE_MS],
  ];
  for (const [srtt, want] of table) it(`srtt ${srtt} -> ${want} ms`, () => assert.equal(deadlineMs(srtt), want));
});
