// Rise/fall hysteresis and the flap guard's penalty arithmetic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initialHysteresis, isPending, observe } from './hysteresis.js';
import { initialFlapGuard, mayAnnounce, penaltyAt, recordWithdraw } from './flap-guard.js';

describe('hysteresis', () => {
  const cfg = { rise: 3, fall: 2 };
  const feed = (results: boolean[]) => {
    let s = initialHysteresis;
    const trace: string[] = [];
    for (const r of results) {
      const o = observe(s, r, cfg);
      s = o.state;
      trace.push(`${s.healthy ? 'U' : 'D'}${isPending(s) ? '*' : ''}`);
    }
    return trace.join(' ');
  };
  it('rises after `rise` consecutive passes', () => assert.equal(feed([true, true, true]), 'D* D* U'));
  it('falls after `fall` consecutive failures', () => assert.equal(feed([true, true, true, false, false]), 'D* D* U U* D'));
  it('a single contrary result resets the streak', () => assert.equal(feed([true, true, false, true, true, true]), 'D* D* D D* D* U'));
  it('alternating results never change the state', () => assert.equal(feed([true, false, true, false, true, false]), 'D* D D* D D* D'));
});

describe('flap guard', () => {
  const cfg = { enabled: true, halfLife: 900_000, withdrawPenalty: 1000, attributeChangePenalty: 500, limit: 1900 };
  it('decays by half every half-life', () => {
    const s = recordWithdraw(initialFlapGuard, cfg, 0);
    assert.equal(penaltyAt(s, cfg, 0), 1000);
    assert.equal(penaltyAt(s, cfg, 900_000), 500);
    assert.equal(penaltyAt(s, cfg, 1_800_000), 250);
  });
  it('allows a first announcement and holds one that a withdrawal would push over the limit', () => {
    assert.deepEqual(mayAnnounce(initialFlapGuard, cfg, 0), { kind: 'allow' });
    const s = recordWithdraw(recordWithdraw(initialFlapGuard, cfg, 0), cfg, 1000);
    const d = mayAnnounce(s, cfg, 2000);
    assert.equal(d.kind, 'hold');
    // ~2000 -> 900 takes log2(2000/900) half-lives ~ 1.15 * 15 min
    const until = (d as { until: number }).until;
    assert.ok(until > 1000 + 1_000_000 && until < 1000 + 1_080_000, String(until));
    assert.equal(mayAnnounce(s, cfg, until).kind, 'allow');
  });
});
