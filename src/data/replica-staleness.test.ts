// Upper bounds of a replica's staleness from its replay time and the
// primary's known position, and the bound judgement's hysteresis.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundJudge, replicaStaleness } from './replica-staleness.js';
import { parseLsn } from './lsn.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

const NOW = 1_000_000;

describe('replicaStaleness', () => {
  const cases: [string, Parameters<typeof replicaStaleness>[0], Parameters<typeof replicaStaleness>[1], { seconds: number; behind?: number }][] = [
    ['caught up with a position read 300 ms ago: at most 0.3 s behind', { replayed: 500n, replayedCommitAt: NOW - 60_000 }, { position: 500n, at: NOW - 300 }, { seconds: 0.3, behind: 0 }],
    ['an idle primary is not lag: the position bound wins over an hour-old commit', { replayed: 500n, replayedCommitAt: NOW - 3_600_000 }, { position: 400n, at: NOW }, { seconds: 0, behind: 0 }],
    ['behind the primary: only the commit time bounds it', { replayed: 400n, replayedCommitAt: NOW - 4000 }, { position: 500n, at: NOW }, { seconds: 4, behind: 100 }],
    ['behind, nothing replayed since it started: unbounded', { replayed: 400n, replayedCommitAt: null }, { position: 500n, at: NOW }, { seconds: Number.POSITIVE_INFINITY, behind: 100 }],
    ['caught up with the primary, but holding WAL it has not replayed (paused): only the commit time bounds it', { replayed: 500n, received: 900n, replayedCommitAt: NOW - 7000 }, { position: 500n, at: NOW - 300 }, { seconds: 7, behind: 0 }],
    ['no primary known: the commit time still bounds it', { replayed: 400n, replayedCommitAt: NOW - 1500 }, undefined, { seconds: 1.5 }],
    ['no primary, no commit: unbounded', { replayed: 400n }, undefined, { seconds: Number.POSITIVE_INFINITY }],
    ["the member's own report bounds it too (HTTP data services)", { replayed: 400n, reportedLagSeconds: 0.2 }, { position: 500n, at: NOW }, { seconds: 0.2, behind: 100 }],
    ["a primary clock ahead of ours is not negative lag", { replayed: 400n, replayedCommitAt: NOW + 5000 }, { position: 500n, at: NOW }, { seconds: 0, behind: 100 }],
  ];
  for (const [name, replica, primary, want] of cases) it(name, () => assert.deepEqual(replicaStaleness(replica, primary, NOW), want));
});

describe('BoundJudge', () => {
  it('the first probe decides; after that a flip needs two probes in a row', () => {
    const j = new BoundJudge();
    assert.equal(j.next(true, true), true);
    assert.equal(j.next(false, true), true, 'one probe over the bound is not enough');
    assert.equal(j.next(true, true), true);
    assert.equal(j.next(false, true), true);
    assert.equal(j.next(false, true), false, 'two in a row flip it');
    assert.equal(j.next(true, true), false);
    assert.equal(j.next(true, true), true);
  });
  it('a member that cannot be probed is out at once, and back after two good probes', () => {
    const j = new BoundJudge();
    assert.equal(j.next(true, true), true);
    assert.equal(j.next(true, false), false);
    assert.equal(j.next(true, true), false);
    assert.equal(j.next(true, true), true);
  });
});

describe('replicaStaleness with PostgreSQL positions (the primary probed just now)', () => {
  const at = (s: number): Date => new Date(T0 + s * 1000);
  const cases: { what: string; primary: string; replay: string; replayedAt: Date | null; nowS: number; bytes: number; seconds: number }[] = [
    { what: 'caught up: no lag, however old its last transaction (an idle primary)', primary: '0/3000060', replay: '0/3000060', replayedAt: at(-3600), nowS: 0, bytes: 0, seconds: 0 },
    { what: 'caught up and never replayed a transaction: still no lag', primary: '0/3000060', replay: '0/3000060', replayedAt: null, nowS: 0, bytes: 0, seconds: 0 },
    { what: 'ahead of the primary probed a moment earlier: caught up, not negative', primary: '0/3000000', replay: '0/3000100', replayedAt: at(-10), nowS: 0, bytes: 0, seconds: 0 },
    { what: 'behind: bytes, and seconds since its last replayed transaction', primary: '0/3000100', replay: '0/3000000', replayedAt: at(-2.5), nowS: 0, bytes: 256, seconds: 2.5 },
    { what: 'behind across a 4 GiB boundary', primary: '1/10', replay: '0/FFFFFFF0', replayedAt: at(-1), nowS: 0, bytes: 32, seconds: 1 },
    { what: 'behind with no transaction replayed yet: unknown, so over any bound', primary: '0/3000100', replay: '0/3000000', replayedAt: null, nowS: 0, bytes: 256, seconds: Infinity },
    { what: "behind, with the primary's clock ahead of ours: 0 seconds, not negative", primary: '0/3000100', replay: '0/3000000', replayedAt: at(5), nowS: 0, bytes: 256, seconds: 0 },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const now = T0 + c.nowS * 1000;
      const lag = replicaStaleness({ replayed: parseLsn(c.replay), replayedCommitAt: c.replayedAt ? c.replayedAt.getTime() : null }, { position: parseLsn(c.primary), at: now }, now);
      assert.deepEqual(lag, { behind: c.bytes, seconds: c.seconds });
    });
  }
});

