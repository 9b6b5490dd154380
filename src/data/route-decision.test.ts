// The routing decision of a data service as tables: reads to the nearest
// replica within the bound, then the next, then the primary; writes to the
// primary, following a promotion; tokens and stickiness for read-your-writes;
// a member that cannot be probed counts as over the bound.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentPrimary, decide, type DecisionInput, type Member } from './route-decision.js';
import { formatConsistencyToken, parseConsistencyToken } from './consistency-token.js';

const NOW = 1_000_000;
const fresh = NOW - 200;

const primary: Member = { id: 'db/pg-eu', region: 'eu', rttMs: 90, probe: { role: 'primary', at: fresh, position: 1000n, timeline: 1 } };
const usNear: Member = { id: 'db/pg-us', region: 'us', rttMs: 0, probe: { role: 'replica', at: fresh, lagSeconds: 0.1, position: 990n } };
const apFar: Member = { id: 'db/pg-ap', region: 'ap', rttMs: 220, probe: { role: 'replica', at: fresh, lagSeconds: 0, position: 1000n } };

function order(over: Partial<DecisionInput> & Pick<DecisionInput, 'kind' | 'members'>): string[] {
  return decide({ now: NOW, maxLagMs: 1000, staleAfterMs: 3000, ...over }).order.map((m) => m.id);
}

describe('reads', () => {
  const cases: [string, Member[], Partial<DecisionInput>, string[]][] = [
    ['nearest replica first, then the next, then the primary', [primary, usNear, apFar], {}, ['db/pg-us', 'db/pg-ap', 'db/pg-eu']],
    ['a replica over the bound is left out', [primary, { ...usNear, probe: { ...usNear.probe!, lagSeconds: 5 } }, apFar], {}, ['db/pg-ap', 'db/pg-eu']],
    ['lag exactly at the bound still serves', [primary, { ...usNear, probe: { ...usNear.probe!, lagSeconds: 1 } }], {}, ['db/pg-us', 'db/pg-eu']],
    ['every replica over the bound: the primary', [primary, { ...usNear, probe: { ...usNear.probe!, lagSeconds: 9 } }], {}, ['db/pg-eu']],
    ['a failing probe counts as over the bound', [primary, { ...usNear, probeFailed: true }, apFar], {}, ['db/pg-ap', 'db/pg-eu']],
    ['a stale probe counts as over the bound', [primary, { ...usNear, probe: { ...usNear.probe!, at: NOW - 10_000 } }], {}, ['db/pg-eu']],
    ['never probed: over the bound', [primary, { id: 'db/new', region: 'us', rttMs: 0 }], {}, ['db/pg-eu']],
    ['unknown RTT sorts last', [primary, { ...usNear, rttMs: undefined }, apFar], {}, ['db/pg-ap', 'db/pg-us', 'db/pg-eu']],
    ['equal RTT: the less lagging first', [primary, { ...apFar, rttMs: 0, probe: { ...apFar.probe!, lagSeconds: 0.5 } }, { ...usNear, probe: { ...usNear.probe!, lagSeconds: 0.2 } }], {}, ['db/pg-us', 'db/pg-ap', 'db/pg-eu']],
    ['a token: only replicas replayed that far, then the primary', [primary, usNear, apFar], { minPosition: 995n }, ['db/pg-ap', 'db/pg-eu']],
    ['a token no replica reached: the primary', [primary, usNear, apFar], { minPosition: 5000n }, ['db/pg-eu']],
    ['sticky after a write: the primary only', [primary, usNear, apFar], { stickToPrimary: true }, ['db/pg-eu']],
    ['no primary: replicas still serve reads', [usNear, apFar], {}, ['db/pg-us', 'db/pg-ap']],
  ];
  for (const [name, members, over, want] of cases) it(name, () => assert.deepEqual(order({ kind: 'read', members, ...over }), want));

  it('says why in words', () => {
    const d = decide({ kind: 'read', members: [primary, { ...usNear, probe: { ...usNear.probe!, lagSeconds: 5 } }], now: NOW, maxLagMs: 1000, staleAfterMs: 3000 });
    assert.match(d.why, /no replica within 1 s \(db\/pg-us: 5\.0 s behind\): the primary/);
  });
});

describe('writes', () => {
  it('go to the primary, wherever it is', () => assert.deepEqual(order({ kind: 'write', members: [usNear, apFar, primary] }), ['db/pg-eu']));
  it('follow a promotion: the old primary gone, the promoted replica probes as primary', () => {
    const promoted: Member = { ...usNear, probe: { role: 'primary', at: fresh, position: 2000n, timeline: 2 } };
    assert.deepEqual(order({ kind: 'write', members: [{ ...primary, probeFailed: true }, promoted, apFar] }), ['db/pg-us']);
  });
  it('two primaries: the higher timeline wins, so nothing is written to the demoted one', () => {
    const promoted: Member = { ...usNear, probe: { role: 'primary', at: fresh, position: 2000n, timeline: 2 } };
    assert.deepEqual(order({ kind: 'write', members: [primary, promoted] }), ['db/pg-us']);
  });
  it('two primaries on one timeline (or unknown): writes are refused, not split', () => {
    const twin: Member = { ...usNear, probe: { role: 'primary', at: fresh, timeline: 1 } };
    const d = decide({ kind: 'write', members: [primary, twin], now: NOW, maxLagMs: 1000, staleAfterMs: 3000 });
    assert.deepEqual(d.order, []);
    assert.match(d.why, /refused rather than split/);
  });
  it('no fresh primary: refused, naming the last known', () => {
    const d = currentPrimary([{ ...primary, probe: { ...primary.probe!, at: NOW - 60_000 } }, usNear], NOW, 3000);
    assert.equal(d.primary, undefined);
    assert.match(d.why, /no fresh probe of a primary \(last known: db\/pg-eu\)/);
  });
});

describe('consistency tokens', () => {
  it('round-trip a position', () => {
    for (const p of [0n, 1n, 0x16b374d848n, (1n << 64n) - 1n]) {
      const t = parseConsistencyToken(formatConsistencyToken(p));
      assert.ok(t.ok && t.position === p);
    }
  });
  it('refuse what a write never gave', () => {
    for (const bad of ['', 'e1.', 'e2.10', 'e1.XYZ', 'e1.00000000000000000', '1000', 'e1.10; DROP TABLE']) {
      const t = parseConsistencyToken(bad);
      assert.equal(t.ok, false, bad);
    }
    assert.throws(() => formatConsistencyToken(-1n));
  });
});

describe("the prober's judgement and federation's delay", () => {
  it('a replica judged out of the bound (hysteresis) is left out whatever its lag says, and one judged in serves', () => {
    const judgedOut: Member = { ...usNear, probe: { ...usNear.probe!, lagSeconds: 0.1, withinBound: false } };
    const judgedIn: Member = { ...apFar, probe: { ...apFar.probe!, lagSeconds: 1.2, withinBound: true } };
    assert.deepEqual(order({ kind: 'read', members: [primary, judgedOut, judgedIn] }), ['db/pg-ap', 'db/pg-eu']);
  });
  it("another region's member heard of 4 s ago is fresh with a grace of 2 s, stale without", () => {
    const remote: Member = { ...apFar, probe: { ...apFar.probe!, at: NOW - 4000 } };
    assert.deepEqual(order({ kind: 'read', members: [primary, { ...remote, graceMs: 2000 }] }), ['db/pg-ap', 'db/pg-eu']);
    assert.deepEqual(order({ kind: 'read', members: [primary, remote] }), ['db/pg-eu']);
  });
});
