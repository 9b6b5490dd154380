// The anycast announcer: health rounds (fast while a change is pending),
// hysteresis, the maintenance file and the flap guard decide whether the
// site's prefixes are announced; the BGP speaker carries the result.
import { access } from 'node:fs/promises';
import type { Logger } from '../core/log.js';
import type { Clock, TimerHandle } from './clock.js';
import type { AnycastConfig } from './config.js';
import { type AnnouncementState, type Decision, decide } from './announcer-decision.js';
import type { Announcement } from './bgp/route.js';
import { formatPrefix } from './bgp/prefix.js';
import { GRACEFUL_SHUTDOWN_COMMUNITY } from './bgp/constants.js';
import type { PeerStatus, SpeakerEvent } from './bgp/bgp-speaker.js';
import type { CheckResult, HealthCheck } from './health/health-checks.js';
import { type HysteresisState, initialHysteresis, isPending, observe } from './health/hysteresis.js';
import { type FlapGuardState, initialFlapGuard, penaltyAt, recordAttributeChange, recordWithdraw } from './health/flap-guard.js';
import type { AnycastMetrics } from './metrics.js';

/** The part of the BGP speaker the announcer uses; tests pass a fake. */
export interface RouteSink {
  start(): void;
  setRoutes(routes: readonly Announcement[]): Promise<void>;
  stop(): Promise<void>;
  status(): PeerStatus[];
}

export interface HistoryEntry {
  readonly at: number;
  readonly event: 'announce' | 'withdraw' | 'drain' | 'hold' | 'healthy' | 'unhealthy' | 'maintenance-on' | 'maintenance-off' | 'session-up' | 'session-down' | 'stop';
  readonly detail: string;
}

export interface AnnouncerStatus {
  readonly announcement: { readonly state: AnnouncementState; readonly since: number; readonly reason: string; readonly prefixes: readonly string[]; readonly holdUntil: number | undefined };
  readonly health: {
    readonly healthy: boolean; readonly pending: boolean; readonly streak: number; readonly rise: number; readonly fall: number;
    readonly lastRound: number | undefined; readonly region: string | undefined;
    readonly checks: readonly ({ readonly name: string; readonly type: string } & Partial<CheckResult>)[];
  };
  readonly maintenance: boolean;
  readonly flapPenalty: number;
  readonly sessions: readonly PeerStatus[];
  readonly history: readonly HistoryEntry[];
}

export interface AnnouncerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly checks: readonly HealthCheck[];
  readonly speaker: RouteSink;
  readonly metrics?: AnycastMetrics;
  readonly fileExists?: (path: string) => Promise<boolean>;
  readonly historySize?: number;
}

const defaultFileExists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

export class Announcer {
  private hysteresis: HysteresisState = initialHysteresis;
  private guard: FlapGuardState = initialFlapGuard;
  private current: AnnouncementState = 'withdrawn';
  private since: number;
  private reason = 'starting: waiting for health checks to rise';
  private drainingSince: number | undefined;
  private holdUntil: number | undefined;
  private maintenance = false;
  private lastRound: number | undefined;
  private lastResults = new Map<string, CheckResult>();
  private region: string | undefined;
  private readonly history: HistoryEntry[] = [];
  private timer: TimerHandle | undefined;
  private stopped = false;
  private roundInFlight: Promise<number> | undefined;

  constructor(private readonly cfg: AnycastConfig, private readonly deps: AnnouncerDeps) {
    this.since = deps.clock.now();
  }

  /** Speaker events feed the history and metrics (wired by the caller). */
  onSpeakerEvent = (e: SpeakerEvent): void => {
    if (e.kind === 'session-up') {
      this.record('session-up', e.peer);
      this.deps.metrics?.sessionEstablished.set({ peer: e.peer }, 1);
    } else if (e.kind === 'session-down') {
      this.record('session-down', `${e.peer}: ${e.reason}`);
      this.deps.metrics?.sessionEstablished.set({ peer: e.peer }, 0);
      this.deps.metrics?.sessionDowns.inc({ peer: e.peer });
    }
  };

  start(): void {
    this.deps.speaker.start();
    this.schedule(0);
  }

  /** Withdraws every prefix, closes the sessions (Cease) and stops the health loop. */
  async stop(reason = 'stopping'): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.roundInFlight?.catch(() => undefined);
    if (this.current !== 'withdrawn') this.transition('withdrawn', reason);
    this.record('stop', reason);
    await this.deps.speaker.stop();
  }

  /** One health round: run the checks, update hysteresis, decide, act. Returns ms until the next round. */
  async round(): Promise<number> {
    const now0 = this.deps.clock.now();
    const results = await Promise.all(this.deps.checks.map(async (c) => [c, await c.run()] as const));
    const maintenance = this.cfg.maintenance ? await (this.deps.fileExists ?? defaultFileExists)(this.cfg.maintenance.file) : false;
    if (this.stopped) return 0;
    const now = this.deps.clock.now();
    this.lastRound = now0;
    for (const [c, r] of results) {
      this.lastResults.set(c.name, r);
      if (r.region) this.region = r.region;
      this.deps.metrics?.checks.inc({ check: c.name, result: r.ok ? 'pass' : 'fail' });
      this.deps.metrics?.checkDuration.observe({ check: c.name }, r.latencyMs / 1000);
    }
    const passed = results.every(([, r]) => r.ok);
    const h = observe(this.hysteresis, passed, this.cfg.health);
    this.hysteresis = h.state;
    if (h.changed) {
      const failing = results.filter(([, r]) => !r.ok).map(([c, r]) => `${c.name}: ${r.detail}`).join('; ');
      this.record(h.state.healthy ? 'healthy' : 'unhealthy', h.state.healthy ? `${this.cfg.health.rise} passing rounds` : `${this.cfg.health.fall} failing rounds: ${failing}`);
    }
    if (maintenance !== this.maintenance) {
      this.maintenance = maintenance;
      this.record(maintenance ? 'maintenance-on' : 'maintenance-off', this.cfg.maintenance?.file ?? '');
    }
    this.deps.metrics?.healthy.set(this.hysteresis.healthy ? 1 : 0);
    const d = decide({
      healthy: this.hysteresis.healthy, maintenance, current: this.current, drainingSince: this.drainingSince, now,
      drainMs: this.cfg.maintenance?.drain ?? 0, guard: this.guard, guardCfg: this.cfg.flapGuard,
    });
    await this.apply(d, now);
    this.deps.metrics?.penalty.set(Math.round(penaltyAt(this.guard, this.cfg.flapGuard, now)));
    const { interval, fastInterval } = this.cfg.health;
    let next = isPending(this.hysteresis) ? fastInterval : interval;
    if (this.current === 'draining' && this.drainingSince !== undefined) next = Math.max(0, Math.min(next, this.drainingSince + this.cfg.maintenance!.drain - now));
    return next;
  }

  status(): AnnouncerStatus {
    const now = this.deps.clock.now();
    return {
      announcement: {
        state: this.current, since: this.since, reason: this.reason, holdUntil: this.current === 'announced' ? undefined : this.holdUntil,
        prefixes: this.cfg.announce.map((a) => formatPrefix(a.prefix)),
      },
      health: {
        healthy: this.hysteresis.healthy, pending: isPending(this.hysteresis), streak: this.hysteresis.streak,
        rise: this.cfg.health.rise, fall: this.cfg.health.fall, lastRound: this.lastRound, region: this.region,
        checks: this.deps.checks.map((c) => ({ name: c.name, type: c.type, ...this.lastResults.get(c.name) })),
      },
      maintenance: this.maintenance,
      flapPenalty: Math.round(penaltyAt(this.guard, this.cfg.flapGuard, now)),
      sessions: this.deps.speaker.status(),
      history: [...this.history],
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.roundInFlight = this.round();
      this.roundInFlight.then((next) => this.schedule(next), (err: unknown) => {
        this.deps.log.error({ err }, 'health round failed');
        this.schedule(this.cfg.health.interval);
      });
    }, ms);
  }

  private routes(draining: boolean): Announcement[] {
    return this.cfg.announce.map((a) => ({
      ...a, communities: draining ? [...a.communities.filter((c) => c !== GRACEFUL_SHUTDOWN_COMMUNITY), GRACEFUL_SHUTDOWN_COMMUNITY] : a.communities,
    }));
  }

  private async apply(d: Decision, now: number): Promise<void> {
    switch (d.kind) {
      case 'stay':
        return;
      case 'hold':
        if (this.holdUntil !== d.until) this.record('hold', d.reason);
        this.holdUntil = d.until;
        this.reason = d.reason;
        return;
      case 'announce':
        if (this.current === 'draining') this.guard = recordAttributeChange(this.guard, this.cfg.flapGuard, now);
        this.transition('announced', d.reason);
        await this.deps.speaker.setRoutes(this.routes(false));
        return;
      case 'drain':
        this.guard = recordAttributeChange(this.guard, this.cfg.flapGuard, now);
        this.drainingSince = now;
        this.transition('draining', d.reason);
        await this.deps.speaker.setRoutes(this.routes(true));
        return;
      case 'withdraw':
        this.guard = recordWithdraw(this.guard, this.cfg.flapGuard, now);
        this.transition('withdrawn', d.reason);
        await this.deps.speaker.setRoutes([]);
        return;
    }
  }

  private transition(to: AnnouncementState, reason: string): void {
    this.current = to;
    this.since = this.deps.clock.now();
    this.reason = reason;
    this.holdUntil = undefined;
    if (to !== 'draining') this.drainingSince = undefined;
    this.deps.metrics?.announced.set(to === 'announced' ? 1 : to === 'draining' ? 2 : 0);
    this.deps.metrics?.transitions.inc({ to });
    this.record(to === 'announced' ? 'announce' : to === 'draining' ? 'drain' : 'withdraw', reason);
    this.deps.log.info({ state: to, reason }, `anycast prefixes ${to}`);
  }

  private record(event: HistoryEntry['event'], detail: string): void {
    this.history.push({ at: this.deps.clock.now(), event, detail });
    if (this.history.length > (this.deps.historySize ?? 100)) this.history.shift();
  }
}
