// Rise/fall hysteresis over health rounds: the state changes only after
// `rise` consecutive passes or `fall` consecutive failures. While a change is
// pending the caller polls at the fast interval.

export interface HysteresisConfig {
  readonly rise: number;
  readonly fall: number;
}

export interface HysteresisState {
  readonly healthy: boolean;
  /** Consecutive results disagreeing with `healthy`; > 0 means a change is pending. */
  readonly streak: number;
}

/** Starts unhealthy: a site earns its announcement with `rise` passing rounds. */
export const initialHysteresis: HysteresisState = { healthy: false, streak: 0 };

export function observe(s: HysteresisState, passed: boolean, cfg: HysteresisConfig): { state: HysteresisState; changed: boolean } {
  if (passed === s.healthy) return { state: { healthy: s.healthy, streak: 0 }, changed: false };
  const streak = s.streak + 1;
  if (streak >= (passed ? cfg.rise : cfg.fall)) return { state: { healthy: passed, streak: 0 }, changed: true };
  return { state: { healthy: s.healthy, streak }, changed: false };
}

export function isPending(s: HysteresisState): boolean {
  return s.streak > 0;
}
