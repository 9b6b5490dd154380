// The announcer on a manual clock with a fake speaker: rise/fall timing with
// the fast interval, maintenance drain, stop, and the flap test: a flapping
// health check must never earn the prefix an RFC 2439 damping penalty of 2000
// at an upstream router (computed here independently from what was sent).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { silentLogger } from '../core/log.js';
import { ManualClock } from './clock.js';
import { Announcer, type RouteSink } from './announcer.js';
import type { Announcement } from './bgp/route.js';
import type { AnycastConfig } from './config.js';
import { parseAnycastConfig } from './config.js';
import type { HealthCheck } from './health/health-checks.js';
import { GRACEFUL_SHUTDOWN_COMMUNITY } from './bgp/constants.js';

class FakeSpeaker implements RouteSink {
  readonly sent: { at: number; routes: readonly Announcement[] }[] = [];
  started = false;
  stopped = false;
  constructor(private readonly clock: ManualClock) {}
  start(): void { this.started = true; }
  async setRoutes(routes: readonly Announcement[]): Promise<void> { this.sent.push({ at: this.clock.now(), routes }); }
  async stop(): Promise<void> { this.stopped = true; await this.setRoutes([]); }
  status() { return []; }
  get announced(): boolean { return (this.sent.at(-1)?.routes.length ?? 0) > 0; }
}

function config(over: Record<string, unknown> = {}): AnycastConfig {
  return parseAnycastConfig({
    localAs: 65001, routerId: '192.0.2.2', peers: [{ address: '192.0.2.1', remoteAs: 65000 }],
    announce: [{ prefix: '203.0.113.10/32', med: 10, communities: ['65001:100'] }],
    health: { interval: '1s', fastInterval: '100ms', rise: 3, fall: 3 },
    maintenance: { file: '/nonexistent/maintenance', drain: '2s' },
    ...over,
  });
}

function setup(up: (t: number) => boolean, cfg = config(), maintenance: (t: number) => boolean = () => false) {
  const clock = new ManualClock(0);
  const speaker = new FakeSpeaker(clock);
  const check: HealthCheck = { name: 'fake', type: 'http', run: async () => ({ ok: up(clock.now()), detail: 'fake', latencyMs: 0 }) };
  const a = new Announcer(cfg, { clock, log: silentLogger(), checks: [check], speaker, fileExists: async () => maintenance(clock.now()) });
  const runUntil = async (end: number): Promise<void> => {
    while (clock.now() < end) clock.advance(await a.round());
  };
  return { clock, speaker, a, runUntil };
}

/** RFC 2439 figure of merit as Cisco defaults apply it: +1000 per withdrawal, +500 per attribute change, half-life 15 min. */
function maxDampingPenalty(sent: readonly { at: number; routes: readonly Announcement[] }[]): number {
  const halfLife = 15 * 60_000;
  let penalty = 0;
  let at = 0;
  let max = 0;
  let prev: string | undefined;
  for (const s of sent) {
    const now = s.at;
    penalty *= 2 ** (-(now - at) / halfLife);
    at = now;
    const cur = s.routes.length === 0 ? undefined : JSON.stringify(s.routes);
    if (prev !== undefined && cur === undefined) penalty += 1000;
    else if (prev !== undefined && cur !== undefined && cur !== prev) penalty += 500;
    prev = cur;
    max = Math.max(max, penalty);
  }
  return max;
}

describe('announcer', () => {
  it('announces after `rise` passing rounds, polling fast while the change is pending', async () => {
    const { speaker, runUntil } = setup(() => true);
    await runUntil(5000);
    assert.equal(speaker.sent.length, 1);
    assert.equal(speaker.sent[0]!.at, 200, 'three rounds at 0, 100, 200 ms');
    assert.deepEqual(speaker.sent[0]!.routes[0]!.communities, [((65001 << 16) | 100) >>> 0]);
  });

  it('withdraws within interval + (fall-1) x fastInterval of a failure', async () => {
    const failAt = 10_050;
    const { speaker, runUntil, a } = setup((t) => t < failAt);
    await runUntil(20_000);
    const w = speaker.sent.find((s) => s.routes.length === 0);
    assert.ok(w, 'withdrawn');
    assert.ok(w.at - failAt <= 1000 + 200, `withdrew ${w.at - failAt} ms after the failure`);
    assert.equal(a.status().announcement.state, 'withdrawn');
    assert.deepEqual(a.status().history.map((h) => h.event), ['healthy', 'announce', 'unhealthy', 'withdraw']);
  });

  it('maintenance file drains with the graceful-shutdown community, then withdraws', async () => {
    const { speaker, runUntil, a } = setup(() => true, config(), (t) => t >= 5000);
    await runUntil(12_000);
    const [announce, drain, withdraw] = speaker.sent;
    assert.ok(drain!.routes[0]!.communities.includes(GRACEFUL_SHUTDOWN_COMMUNITY));
    assert.ok(!announce!.routes[0]!.communities.includes(GRACEFUL_SHUTDOWN_COMMUNITY));
    assert.equal(withdraw!.routes.length, 0);
    assert.ok(withdraw!.at - drain!.at >= 2000 && withdraw!.at - drain!.at <= 2100, `drained for ${withdraw!.at - drain!.at} ms`);
    assert.equal(speaker.sent.length, 3);
    assert.equal(a.status().maintenance, true);
  });

  it('stop withdraws and closes the speaker', async () => {
    const { speaker, runUntil, a } = setup(() => true);
    await runUntil(2000);
    assert.ok(speaker.announced);
    await a.stop('SIGTERM');
    assert.ok(speaker.stopped);
    assert.equal(speaker.announced, false);
    assert.equal(a.status().announcement.state, 'withdrawn');
  });

  it('a check flapping every 8 s keeps the upstream damping penalty below 2000 (and would not without the guard)', async () => {
    const flapping = (t: number) => t > 3_600_000 || Math.floor(t / 4000) % 2 === 0;
    const guarded = setup(flapping);
    await guarded.runUntil(3 * 3_600_000);
    const withGuard = maxDampingPenalty(guarded.speaker.sent);
    assert.ok(withGuard < 2000, `penalty ${withGuard}`);
    assert.ok(guarded.speaker.announced, 'announced again once the check is stable');
    const unguarded = setup(flapping, config({ flapGuard: { enabled: false } }));
    await unguarded.runUntil(3_600_000);
    assert.ok(maxDampingPenalty(unguarded.speaker.sent) > 2000, 'hysteresis alone lets this flapping through: the test can fail');
  });

  it('property: any flapping pattern stays below a penalty of 2000', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 50, max: 60_000 })), { minLength: 1, maxLength: 150 }),
      async (pattern) => {
        const edges: { until: number; up: boolean }[] = [];
        let t = 0;
        for (const [up, d] of pattern) edges.push({ up, until: (t += d) });
        const { speaker, runUntil } = setup((now) => edges.find((e) => now < e.until)?.up ?? true);
        await runUntil(t + 2 * 3_600_000);
        assert.ok(maxDampingPenalty(speaker.sent) < 2000);
        assert.ok(speaker.announced, 'stable health ends announced');
      },
    ), { numRuns: 40, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false });
  });
});
