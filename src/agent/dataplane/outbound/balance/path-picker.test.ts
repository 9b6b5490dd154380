// Remote paths in the picker: ranked by class (direct > relayed > stale >
// unreachable) then RTT; relayed endpoints form their own level (pathKey); a
// level in slow start takes about its share; PathRecovery's ramp.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../../core/seeded-random.js';
import { PathClass, buildPicker, pathKey, rankPaths, type BalancedEndpoint, type PickerContext } from './picker.js';
import { PathRecovery, SLOW_START_FIRST_SHARE, SLOW_START_MS } from './path-recovery.js';

const ep = (key: string, region: string, via?: string): BalancedEndpoint => ({ key, region, weight: 1, ...(via ? { via } : {}) });
function ctx(over: Partial<PickerContext> = {}): PickerContext {
  return { region: 'eu', zone: 'eu-1', rttMs: () => undefined, ejected: () => false, loads: () => ({ cost: () => 1 }), now: () => 0, ...over };
}
const keys = (levels: readonly (readonly BalancedEndpoint[])[]): string[][] => levels.map((l) => l.map((e) => e.key));

describe('pathKey', () => {
  it('region for direct, region>via for relayed', () => {
    assert.equal(pathKey('us'), 'us');
    assert.equal(pathKey('us', 'ap'), 'us>ap');
  });
});

describe('rankPaths', () => {
  const paths = [{ region: 'us' }, { region: 'us', via: 'ap' }, { region: 'sa' }, { region: 'af' }, { region: 'sa', via: 'us' }];
  const show = (ps: readonly { region: string; via?: string | undefined }[]): string[] => ps.map((p) => pathKey(p.region, p.via));
  const cases: Array<{ name: string; c: Parameters<typeof rankPaths>[1]; want: string[] }> = [
    { name: 'default: direct before relayed, by RTT within a class',
      c: { rttMs: (k) => ({ us: 90, 'us>ap': 10, sa: 20, af: 50, 'sa>us': 5 })[k] },
      want: ['sa', 'af', 'us', 'sa>us', 'us>ap'] },
    { name: 'a relayed path is ranked by the RTT measured under its pathKey, not its region\'s',
      c: { rttMs: (k) => ({ us: 1, sa: 1, af: 1, 'us>ap': 30, 'sa>us': 40 })[k] },
      want: ['af', 'sa', 'us', 'us>ap', 'sa>us'] },
    { name: 'demoted (stale) regions after relayed paths',
      c: { rttMs: (k) => ({ us: 1 })[k], demoted: (r) => r === 'us' },
      want: ['af', 'sa', 'sa>us', 'us', 'us>ap'] },
    { name: 'pathClass: an unreachable direct path goes last, its relay stays',
      c: { rttMs: (k) => ({ us: 1, 'us>ap': 100 })[k],
        pathClass: (r, via) => (via !== undefined ? PathClass.relayed : r === 'us' ? PathClass.unreachable : r === 'af' ? PathClass.stale : PathClass.direct) },
      want: ['sa', 'us>ap', 'sa>us', 'af', 'us'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(show(rankPaths(paths, c.c)), c.want));

  it('PathClass orders direct < relayed < stale < unreachable', () => {
    assert.ok(PathClass.direct < PathClass.relayed && PathClass.relayed < PathClass.stale && PathClass.stale < PathClass.unreachable);
  });
});

describe('picker: relayed paths', () => {
  it('relayed endpoints of a region form their own level after its direct ones', () => {
    const eps = [ep('us-d1', 'us'), ep('us-ap', 'us', 'ap'), ep('us-d2', 'us'), ep('us-sa', 'us', 'sa'), ep('eu', 'eu')];
    const p = buildPicker(eps, ctx({ rttMs: (k) => ({ 'us>sa': 10, 'us>ap': 20 })[k] }));
    assert.deepEqual(keys(p.order()), [[], ['eu'], ['us-d1', 'us-d2'], ['us-sa'], ['us-ap']]);
  });

  it('a cut direct path: picks go to the relay; excluding the relay falls back to the cut path', () => {
    const eps = [ep('us-d', 'us'), ep('us-ap', 'us', 'ap')];
    const p = buildPicker(eps, ctx({ pathClass: (_r, via) => (via ? PathClass.relayed : PathClass.unreachable) }));
    const random = mulberry32(3);
    const first = p.pick({ random });
    assert.equal(first.kind === 'pick' && first.endpoint.key, 'us-ap');
    const retry = p.pick({ random, exclude: new Set(['us-ap']) });
    assert.equal(retry.kind === 'pick' && retry.endpoint.key, 'us-d');
  });
});

describe('picker: slow start share', () => {
  const eps = [ep('us-d', 'us'), ep('us-ap', 'us', 'ap')];
  const N = 20_000;
  for (const share of [0.1, 0.5, 0.9]) {
    it(`a level with share ${share} takes about that share of picks, the rest go to the next level`, () => {
      const p = buildPicker(eps, ctx({ share: (_r, via) => (via === undefined ? share : 1) }));
      const random = mulberry32(42);
      let direct = 0;
      for (let i = 0; i < N; i++) {
        const r = p.pick({ random });
        assert.equal(r.kind, 'pick');
        if (r.kind === 'pick' && r.endpoint.key === 'us-d') direct++;
      }
      assert.ok(Math.abs(direct / N - share) < 0.02, `${direct} of ${N} picks went to the ramping path`);
    });
  }

  it('a level in slow start still takes every pick when nothing later is usable', () => {
    const p = buildPicker(eps, ctx({ share: (_r, via) => (via === undefined ? 0.1 : 1), ejected: (k) => k === 'us-ap' }));
    const random = mulberry32(7);
    for (let i = 0; i < 500; i++) {
      const r = p.pick({ random });
      assert.equal(r.kind === 'pick' && r.endpoint.key, 'us-d');
      assert.equal(r.kind === 'pick' && r.level, 2, 'the fallback reports its own level');
    }
    const ex = buildPicker(eps, ctx({ share: (_r, via) => (via === undefined ? 0.1 : 1) }));
    for (let i = 0; i < 200; i++) {
      const r = ex.pick({ random, exclude: new Set(['us-ap']) });
      assert.equal(r.kind === 'pick' && r.endpoint.key, 'us-d');
    }
  });

  it('shares out of range are clamped: above 1 is 1, 0 still takes some picks, NaN is 1', () => {
    const count = (share: number): number => {
      const p = buildPicker(eps, ctx({ share: (_r, via) => (via === undefined ? share : 1) }));
      const random = mulberry32(9);
      let n = 0;
      for (let i = 0; i < 5000; i++) { const r = p.pick({ random }); if (r.kind === 'pick' && r.endpoint.key === 'us-d') n++; }
      return n;
    };
    assert.equal(count(5), 5000);
    assert.equal(count(Number.NaN), 5000);
    const zero = count(0);
    assert.ok(zero > 0 && zero < 150, `${zero}`);
  });
});

describe('PathRecovery', () => {
  it('a region that never left has share 1', () => {
    const r = new PathRecovery();
    assert.equal(r.share('us', 0), 1);
    r.observe('us', true, 0);
    r.observe('us', true, 1000);
    assert.equal(r.share('us', 1000), 1);
    assert.equal(r.share('us', 1000), 1);
  });

  it('a region that comes back ramps from SLOW_START_FIRST_SHARE to 1 over SLOW_START_MS', () => {
    const r = new PathRecovery();
    r.observe('us', true, 0);
    r.observe('us', false, 1000);
    r.observe('us', true, 2000);
    assert.equal(r.share('us', 2000), SLOW_START_FIRST_SHARE);
    assert.ok(Math.abs(r.share('us', 2000 + SLOW_START_MS / 2) - (SLOW_START_FIRST_SHARE + (1 - SLOW_START_FIRST_SHARE) / 2)) < 1e-9);
    const a = r.share('us', 2000 + SLOW_START_MS / 4);
    const b = r.share('us', 2000 + (3 * SLOW_START_MS) / 4);
    assert.ok(a < b && b < 1, `${a} < ${b} < 1`);
    assert.equal(r.share('us', 2000 + SLOW_START_MS), 1);
    assert.equal(r.share('us', 2000 + 1), 1, 'and it stays done');
  });

  it('a region first seen usable does not ramp; one first seen unusable does when it comes', () => {
    const r = new PathRecovery();
    r.observe('ap', true, 0);
    assert.equal(r.share('ap', 0), 1);
    r.observe('sa', false, 0);
    r.observe('sa', true, 100);
    assert.equal(r.share('sa', 100), SLOW_START_FIRST_SHARE);
  });

  it('going down again mid-ramp ends the ramp; coming back restarts it', () => {
    const r = new PathRecovery();
    r.observe('us', false, 0);
    r.observe('us', true, 1000);
    r.observe('us', false, 3000);
    r.observe('us', true, 5000);
    assert.equal(r.share('us', 5000), SLOW_START_FIRST_SHARE);
  });

  it('regions ramp independently', () => {
    const r = new PathRecovery();
    r.observe('us', false, 0);
    r.observe('us', true, 0);
    r.observe('ap', true, 0);
    assert.equal(r.share('ap', 100), 1);
    assert.ok(r.share('us', 100) < 0.2);
  });
});
