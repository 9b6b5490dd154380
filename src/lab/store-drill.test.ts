// store-drill: the store drills' expectations from recorded calls, as tables of made-up timelines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storeDrillExpectations, type AppliedStoreStep, type StoreDrillInput } from './store-drill.js';
import type { StoreCall } from './store-client.js';

const bounds = { maxLagMs: 3000, probeIntervalMs: 500, slackMs: 3000, followMs: 8000 };

/** A call every 200 ms from `from` to `to` (ms), each answered by `server(t)` (undefined: failed). */
function calls(kind: 'read' | 'write', from: number, to: number, server: (t: number) => string | undefined): StoreCall[] {
  const out: StoreCall[] = [];
  for (let t = from; t < to; t += 200) {
    const s = server(t);
    out.push({ kind, startMs: t, endMs: t + 50, ok: s !== undefined, ...(s ? { server: s } : { error: 'connection refused' }) });
  }
  return out;
}

const byWhat = (es: { what: string; met: boolean; detail: string }[], re: RegExp): { met: boolean; detail: string } => {
  const e = es.find((x) => re.test(x.what));
  assert.ok(e, `no expectation ${re}`);
  return e;
};

describe('replica-lag expectations', () => {
  const steps: AppliedStoreStep[] = [
    { kind: 'pauseReplay', region: 'us', atMs: 15_000, server: 'pg-us' },
    { kind: 'resumeReplay', region: 'us', atMs: 35_000, server: 'pg-us' },
  ];
  const input = (readServer: (t: number) => string | undefined): StoreDrillInput => ({
    calls: new Map([['us', [...calls('write', 0, 50_000, () => 'pg-eu'), ...calls('read', 0, 50_000, readServer)]]]),
    steps,
    warmupEndMs: 5000,
    endMs: 50_000,
    bounds,
  });

  it('met: reads leave 4 s after the pause, come back 1 s after the resume, none fails', () => {
    const es = storeDrillExpectations(input((t) => (t >= 19_000 && t < 36_000 ? 'pg-ap' : 'pg-us')));
    assert.ok(es.every((e) => e.met), JSON.stringify(es, null, 1));
    assert.match(byWhat(es, /leave the paused replica/).detail, /last read on pg-us 3\.8 s after the pause; then \d+ reads on pg-ap/);
    assert.match(byWhat(es, /come back/).detail, /1\.0 s after the resume/);
  });

  const cases: [string, (t: number) => string | undefined, RegExp][] = [
    ['reads that never leave', () => 'pg-us', /leave the paused replica/],
    ['reads that leave too late (9 s)', (t) => (t >= 24_000 && t < 36_000 ? 'pg-ap' : 'pg-us'), /leave the paused replica/],
    ['reads that never come back', (t) => (t >= 19_000 ? 'pg-ap' : 'pg-us'), /come back/],
    ['one failed read', (t) => (t === 20_000 ? undefined : t >= 19_000 && t < 36_000 ? 'pg-ap' : 'pg-us'), /every store read succeeds/],
  ];
  for (const [what, server, unmet] of cases) {
    it(`not met: ${what}`, () => {
      const es = storeDrillExpectations(input(server));
      assert.equal(byWhat(es, unmet).met, false, JSON.stringify(es, null, 1));
    });
  }
});

describe('promote expectations', () => {
  const steps: AppliedStoreStep[] = [
    { kind: 'killPrimary', atMs: 15_000, server: 'pg-eu' },
    { kind: 'promote', region: 'us', atMs: 18_000, server: 'pg-us' },
  ];
  const input = (writeServer: (t: number) => string | undefined): StoreDrillInput => ({
    calls: new Map(['eu', 'us'].map((r) => [r, [...calls('write', 0, 33_000, writeServer), ...calls('read', 0, 33_000, () => 'pg-us')]])),
    steps,
    warmupEndMs: 5000,
    endMs: 33_000,
    bounds,
  });

  it('met: writes fail from the kill to 2 s after the promotion, then land on the promoted server', () => {
    const es = storeDrillExpectations(input((t) => (t < 15_000 ? 'pg-eu' : t < 20_000 ? undefined : 'pg-us')));
    assert.ok(es.every((e) => e.met), JSON.stringify(es, null, 1));
    assert.match(byWhat(es, /writes fail only between/).detail, /^50 writes failed, the last one ending 4\.8 s after the kill/);
    assert.match(byWhat(es, /eu's writes succeed/).detail, /first write on pg-us 2\.0 s after the promotion/);
    assert.equal(byWhat(es, /no write lands on the old primary pg-eu/).detail, '0 did');
  });

  const cases: [string, (t: number) => string | undefined, RegExp][] = [
    ['writes that still fail 10 s after the promotion', (t) => (t < 15_000 ? 'pg-eu' : t < 28_000 ? undefined : 'pg-us'), /writes fail only between/],
    ['a write on the old primary after the promotion', (t) => (t < 15_000 || t === 19_000 ? 'pg-eu' : t < 18_000 ? undefined : 'pg-us'), /no write lands on the old primary/],
    ['writes that never reach the promoted server', (t) => (t < 15_000 ? 'pg-eu' : t < 20_000 ? undefined : 'pg-ap'), /eu's writes succeed on the promoted server/],
  ];
  for (const [what, server, unmet] of cases) {
    it(`not met: ${what}`, () => {
      const es = storeDrillExpectations(input(server));
      assert.equal(byWhat(es, unmet).met, false, JSON.stringify(es, null, 1));
    });
  }
});
