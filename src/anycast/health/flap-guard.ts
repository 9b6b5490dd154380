// Keeps the announcement out of upstream route-flap damping (RFC 2439): the
// announcer tracks the penalty a damping router would assign (exponential
// decay, so much per withdrawal / attribute change) and only re-announces when
// an immediate withdrawal afterwards would still keep the penalty under its
// limit. Withdrawals are never delayed: a failing site leaves at once.

export interface FlapGuardConfig {
  readonly enabled: boolean;
  readonly halfLife: number;
  readonly withdrawPenalty: number;
  readonly attributeChangePenalty: number;
  readonly limit: number;
}

export interface FlapGuardState {
  /** Penalty as of `at` (ms); decays by half every half-life. */
  readonly penalty: number;
  readonly at: number;
}

export const initialFlapGuard: FlapGuardState = { penalty: 0, at: 0 };

export function penaltyAt(s: FlapGuardState, cfg: FlapGuardConfig, now: number): number {
  return s.penalty * 2 ** (-Math.max(0, now - s.at) / cfg.halfLife);
}

export function recordWithdraw(s: FlapGuardState, cfg: FlapGuardConfig, now: number): FlapGuardState {
  return { penalty: penaltyAt(s, cfg, now) + cfg.withdrawPenalty, at: now };
}

export function recordAttributeChange(s: FlapGuardState, cfg: FlapGuardConfig, now: number): FlapGuardState {
  return { penalty: penaltyAt(s, cfg, now) + cfg.attributeChangePenalty, at: now };
}

export type GuardDecision = { readonly kind: 'allow' } | { readonly kind: 'hold'; readonly until: number; readonly penalty: number };

/** May we re-announce now, given `extra` penalty we might add before the next withdrawal? */
export function mayAnnounce(s: FlapGuardState, cfg: FlapGuardConfig, now: number, extra = 0): GuardDecision {
  if (!cfg.enabled) return { kind: 'allow' };
  const p = penaltyAt(s, cfg, now);
  const ceiling = cfg.limit - cfg.withdrawPenalty - extra;
  if (p <= ceiling) return { kind: 'allow' };
  // p * 2^(-dt/h) = ceiling  =>  dt = h * log2(p / ceiling)
  const until = ceiling <= 0 ? Infinity : now + Math.ceil(cfg.halfLife * Math.log2(p / ceiling));
  return { kind: 'hold', until, penalty: Math.round(p) };
}
