// Which member of a data service a call goes to: a pure function of the
// members' last probes, their distance from the caller, the lag bound and the
// caller's consistency requirement, so the table tests in
// route-decision.test.ts pin every rule down (docs/data-routing.md):
// - a write goes to the primary: the one member whose fresh probe says
//   primary; after a promotion, the promoted one (the higher timeline);
// - a read goes to the nearest replica whose fresh probe is within the lag
//   bound (and, given a consistency token, has replayed at least that far),
//   else the next nearest, else the primary;
// - a member whose probe failed or is older than staleAfter is over the bound.

export type Role = 'primary' | 'replica';

export interface MemberProbe {
  readonly role: Role;
  /** When the probe answered, epoch ms. */
  readonly at: number;
  /** replica: how far behind, seconds (0 when it has replayed all the primary has). */
  readonly lagSeconds?: number;
  /** replica: the position it has replayed; primary: its current position (LSN, or an HTTP service's position). */
  readonly position?: bigint;
  /** primary: its timeline (PostgreSQL); a promotion starts a higher one. */
  readonly timeline?: number;
  /** replica: the prober's judgement against the bound (with hysteresis); when absent, lagSeconds is compared. */
  readonly withinBound?: boolean;
}

export interface Member {
  /** "namespace/workload". */
  readonly id: string;
  readonly region: string;
  /** Measured round trip from the caller's region; 0 within it; undefined when unknown (sorted last). */
  readonly rttMs?: number;
  /** The last probe that answered; undefined when none did. */
  readonly probe?: MemberProbe;
  /** The last probe failed (after `probe` answered, if it ever did). */
  readonly probeFailed?: boolean;
  /** Added to staleAfter: another region's member is heard of through federation, which adds its own delay. */
  readonly graceMs?: number;
}

/** The callers' own member type comes back in the order (they may carry more than the decision reads). */
export interface DecisionInput<M extends Member = Member> {
  readonly kind: 'read' | 'write';
  readonly members: readonly M[];
  readonly now: number;
  readonly maxLagMs: number;
  readonly staleAfterMs: number;
  /** From a consistency token: a read must see at least this position. */
  readonly minPosition?: bigint;
  /** The caller wrote within the stickiness window (TCP read-your-writes): reads go to the primary. */
  readonly stickToPrimary?: boolean;
}

export interface Decision<M extends Member = Member> {
  /** Members to try, in order; empty when none can serve. */
  readonly order: readonly M[];
  /** In words, for the flow record and the refusal. */
  readonly why: string;
}

function fresh(m: Member, now: number, staleAfterMs: number): MemberProbe | undefined {
  if (m.probeFailed || !m.probe) return undefined;
  return now - m.probe.at <= staleAfterMs + (m.graceMs ?? 0) ? m.probe : undefined;
}

function byDistance(a: Member, b: Member): number {
  const ra = a.rttMs ?? Number.POSITIVE_INFINITY;
  const rb = b.rttMs ?? Number.POSITIVE_INFINITY;
  if (ra !== rb) return ra - rb;
  return (a.probe?.lagSeconds ?? 0) - (b.probe?.lagSeconds ?? 0) || a.id.localeCompare(b.id);
}

/** The primary, or why there is none to write to. */
export function currentPrimary<M extends Member>(members: readonly M[], now: number, staleAfterMs: number): { primary?: M; why: string } {
  const claims = members.filter((m) => fresh(m, now, staleAfterMs)?.role === 'primary');
  if (claims.length === 1) return { primary: claims[0]!, why: `${claims[0]!.id} is the primary` };
  if (claims.length === 0) {
    const stale = members.filter((m) => m.probe?.role === 'primary');
    return { why: stale.length > 0 ? `no fresh probe of a primary (last known: ${stale.map((m) => m.id).join(', ')})` : 'no member probes as primary' };
  }
  // Two primaries: a promoted replica runs on a higher timeline than the primary it replaced.
  const withTimeline = claims.filter((m) => m.probe!.timeline !== undefined).sort((a, b) => b.probe!.timeline! - a.probe!.timeline!);
  const top = withTimeline[0];
  if (top && withTimeline.length === claims.length && top.probe!.timeline! > withTimeline[1]!.probe!.timeline!) {
    return { primary: top, why: `${top.id} is the primary (timeline ${top.probe!.timeline}; ${claims.filter((m) => m !== top).map((m) => m.id).join(', ')} on an older one)` };
  }
  return { why: `${claims.map((m) => m.id).join(' and ')} all probe as primary on the same or an unknown timeline: writes are refused rather than split` };
}

export function decide<M extends Member>(input: DecisionInput<M>): Decision<M> {
  const { members, now, staleAfterMs } = input;
  const { primary, why: primaryWhy } = currentPrimary(members, now, staleAfterMs);
  if (input.kind === 'write') return { order: primary ? [primary] : [], why: primaryWhy };
  if (input.stickToPrimary) return { order: primary ? [primary] : [], why: `the caller wrote within the stickiness window: ${primaryWhy}` };
  const maxLagS = input.maxLagMs / 1000;
  const eligible: M[] = [];
  const skipped: string[] = [];
  for (const m of members) {
    if (m === primary) continue;
    const p = fresh(m, now, staleAfterMs);
    if (!p) {
      skipped.push(`${m.id}: ${m.probe ? (m.probeFailed ? 'probe failing' : 'probe stale') : 'never probed'}`);
      continue;
    }
    if (p.role !== 'replica') continue;
    if (p.withinBound === undefined ? (p.lagSeconds ?? Number.POSITIVE_INFINITY) > maxLagS : !p.withinBound) {
      skipped.push(`${m.id}: ${p.lagSeconds === undefined ? 'lag unknown' : `${p.lagSeconds.toFixed(1)} s behind`}`);
      continue;
    }
    if (input.minPosition !== undefined && (p.position === undefined || p.position < input.minPosition)) {
      skipped.push(`${m.id}: not replayed to the token's position`);
      continue;
    }
    eligible.push(m);
  }
  eligible.sort(byDistance);
  const order = primary ? [...eligible, primary] : eligible;
  const first = order[0];
  const why = first === undefined ? `no replica within the bound and ${primaryWhy}` : first === primary ? `no replica within ${maxLagS} s${input.minPosition !== undefined ? ' and the token' : ''} (${skipped.join('; ') || 'none'}): the primary` : `${first.id}, the nearest replica within ${maxLagS} s${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`;
  return { order, why };
}
