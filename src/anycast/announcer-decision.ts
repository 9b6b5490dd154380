// Decide-then-do for the announcement: a pure function of the health verdict,
// the maintenance switch, the current announcement and the flap guard.
import { type FlapGuardConfig, type FlapGuardState, mayAnnounce, penaltyAt } from './health/flap-guard.js';

export type AnnouncementState = 'withdrawn' | 'announced' | 'draining';

export interface DecisionInput {
  readonly healthy: boolean;
  readonly maintenance: boolean;
  readonly current: AnnouncementState;
  /** When the current drain began (ms), if draining. */
  readonly drainingSince: number | undefined;
  readonly now: number;
  readonly drainMs: number;
  readonly guard: FlapGuardState;
  readonly guardCfg: FlapGuardConfig;
}

export type Decision =
  | { readonly kind: 'stay' }
  | { readonly kind: 'announce'; readonly reason: string }
  | { readonly kind: 'drain'; readonly reason: string; readonly until: number }
  | { readonly kind: 'withdraw'; readonly reason: string }
  | { readonly kind: 'hold'; readonly reason: string; readonly until: number };

export function decide(i: DecisionInput): Decision {
  if (!i.healthy) {
    // A failing site leaves at once: no drain, no guard.
    return i.current === 'withdrawn' ? { kind: 'stay' } : { kind: 'withdraw', reason: 'health checks failing' };
  }
  if (i.maintenance) {
    if (i.current === 'announced') {
      // RFC 8326 graceful shutdown first, unless the extra attribute change
      // would itself push an upstream damping penalty over the limit.
      const p = penaltyAt(i.guard, i.guardCfg, i.now) + i.guardCfg.attributeChangePenalty + i.guardCfg.withdrawPenalty;
      if (i.drainMs > 0 && (!i.guardCfg.enabled || p <= i.guardCfg.limit)) {
        return { kind: 'drain', reason: 'maintenance file present: draining (graceful-shutdown community)', until: i.now + i.drainMs };
      }
      return { kind: 'withdraw', reason: 'maintenance file present' };
    }
    if (i.current === 'draining' && i.now >= (i.drainingSince ?? i.now) + i.drainMs) {
      return { kind: 'withdraw', reason: 'maintenance drain complete' };
    }
    return { kind: 'stay' };
  }
  if (i.current === 'draining') {
    // Dropping the graceful-shutdown community is an attribute change too; until
    // the guard allows it, the route stays drained (still a fallback).
    const g = mayAnnounce(i.guard, i.guardCfg, i.now, i.guardCfg.attributeChangePenalty);
    if (g.kind === 'hold') return { kind: 'hold', reason: `flap guard: staying drained, penalty ${g.penalty}`, until: g.until };
    return { kind: 'announce', reason: 'maintenance ended' };
  }
  if (i.current === 'announced') return { kind: 'stay' };
  const g = mayAnnounce(i.guard, i.guardCfg, i.now);
  if (g.kind === 'hold') {
    return { kind: 'hold', reason: `flap guard: penalty ${g.penalty} would exceed ${i.guardCfg.limit} on the next withdrawal`, until: g.until };
  }
  return { kind: 'announce', reason: 'healthy' };
}
