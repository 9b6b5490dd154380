// CA key rotation as pure decisions over the persisted CA state (decide, then
// do: LocalCa.maintain applies them). Timeline per authority (Federation 4.1):
// published -> (>= 3x refresh hint later) signs -> retired when its successor
// signs -> removed from the bundle once every SVID it signed has expired.

export interface CaAuthorityRecord {
  readonly id: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** When it entered the bundle. */
  readonly publishedAtMs: number;
  /** When it starts signing; >= publishedAtMs + prepublish, except for the very first key. */
  readonly activeFromMs: number;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

export interface CaState {
  readonly version: 1;
  readonly trustDomain: string;
  /** spiffe_sequence of the bundle these authorities form. */
  readonly sequence: bigint;
  readonly authorities: readonly CaAuthorityRecord[];
}

export interface RotationPolicy {
  readonly refreshHintSeconds: number;
  /** New keys are published this many refresh hints before they sign; >= 3. */
  readonly prepublishFactor: number;
  /** Upper bound of any SVID's lifetime: a retired key stays published this long. */
  readonly maxSvidTtlMs: number;
  /** Clock skew allowance added before removing a retired key. */
  readonly skewMs: number;
}

export type RotationAction =
  /** Create a key that signs at once: there is no usable signer (first start, or every key expired). */
  | { kind: 'bootstrap' }
  /** Create and publish the next key, signing from `activeFromMs`. */
  | { kind: 'prepare'; activeFromMs: number }
  /** Drop a retired key from the bundle. */
  | { kind: 'remove'; id: string; reason: string };

export function prepublishMs(p: RotationPolicy): number {
  return p.prepublishFactor * p.refreshHintSeconds * 1000;
}

/** The authority that signs at `nowMs`: the latest activated one whose certificate is still valid. */
export function activeAuthority(state: CaState, nowMs: number): CaAuthorityRecord | undefined {
  let best: CaAuthorityRecord | undefined;
  for (const a of state.authorities) {
    if (a.activeFromMs > nowMs || a.notAfterMs <= nowMs || a.notBeforeMs > nowMs) continue;
    if (!best || a.activeFromMs > best.activeFromMs) best = a;
  }
  return best;
}

/** When `a` stopped signing: its successor's activation, if that has happened. */
export function retiredAtMs(state: CaState, a: CaAuthorityRecord, nowMs: number): number | undefined {
  const successors = state.authorities.filter((b) => b.activeFromMs > a.activeFromMs && b.activeFromMs <= nowMs);
  if (successors.length === 0) return undefined;
  return Math.min(...successors.map((b) => b.activeFromMs));
}

/** When a retired authority may leave the bundle: its last SVID has expired by then. */
export function removableAtMs(state: CaState, a: CaAuthorityRecord, nowMs: number, p: RotationPolicy): number | undefined {
  const retired = retiredAtMs(state, a, nowMs);
  if (retired === undefined) return undefined;
  // SVIDs are clamped to the signer's own expiry, so that also bounds them.
  return Math.min(retired + p.maxSvidTtlMs, a.notAfterMs) + p.skewMs;
}

/**
 * What to do now. Rotation starts when two thirds of the signer's lifetime
 * have passed, or earlier if needed so the successor can be prepublished and
 * the old key outlive its last SVID before its own certificate expires.
 */
export function planCaRotation(state: CaState, nowMs: number, p: RotationPolicy, opts: { rotateNow?: boolean } = {}): RotationAction[] {
  const actions: RotationAction[] = [];
  const signer = activeAuthority(state, nowMs);
  const pending = state.authorities.filter((a) => a.activeFromMs > nowMs);
  if (!signer) {
    if (pending.length === 0) actions.push({ kind: 'bootstrap' });
  } else if (pending.length === 0) {
    const life = signer.notAfterMs - signer.notBeforeMs;
    const lead = prepublishMs(p) + p.maxSvidTtlMs + p.skewMs;
    const startAt = Math.min(signer.notBeforeMs + (2 * life) / 3, signer.notAfterMs - lead);
    if (opts.rotateNow || nowMs >= startAt) actions.push({ kind: 'prepare', activeFromMs: nowMs + prepublishMs(p) });
  }
  for (const a of state.authorities) {
    if (a === signer || a.activeFromMs > nowMs) continue;
    if (a.notAfterMs <= nowMs) {
      actions.push({ kind: 'remove', id: a.id, reason: 'certificate expired' });
      continue;
    }
    const removable = removableAtMs(state, a, nowMs, p);
    if (removable !== undefined && nowMs >= removable) actions.push({ kind: 'remove', id: a.id, reason: 'retired and every SVID it signed has expired' });
  }
  return actions;
}

/** The sequence for a changed bundle: grows by at least one, and tracks wall-clock seconds so a re-created CA still moves forward. */
export function nextSequence(current: bigint, nowMs: number): bigint {
  const bySeconds = BigInt(Math.floor(nowMs / 1000));
  return bySeconds > current ? bySeconds : current + 1n;
}

/**
 * When to renew an SVID: half its lifetime after notBefore, with +-10% jitter
 * of that half so a fleet issued together does not renew together. `rand`
 * returns [0, 1). The result is milliseconds after notBefore.
 */
export function renewalDelayMs(notBefore: Date | number, notAfter: Date | number, rand: () => number = Math.random): number {
  const life = Number(notAfter) - Number(notBefore);
  const half = life / 2;
  return Math.round(half + (rand() * 2 - 1) * 0.1 * half);
}

/** The absolute renewal time (see renewalDelayMs). */
export function renewalTime(notBefore: Date | number, notAfter: Date | number, rand: () => number = Math.random): Date {
  return new Date(Number(notBefore) + renewalDelayMs(notBefore, notAfter, rand));
}
