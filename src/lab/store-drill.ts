// The store drills' expectations (replica-lag, promote, or any scenario with
// store steps), computed from what the store clients recorded per call: when
// it started, whether it worked, which server answered. Pure: the drill runner
// gathers the calls and the steps' times. docs/operations.md "Lab drills".
import type { Expectation } from './drill-report.js';
import type { StoreCall } from './store-client.js';

export interface StoreDrillBounds {
  readonly maxLagMs: number;
  readonly probeIntervalMs: number;
  /**
   * On top of maxLag + 2 probe intervals for reads to leave a paused replica
   * (and 2 probe intervals to come back): the agent's config update, a call
   * already connecting when the decision changed, a busy machine.
   */
  readonly slackMs: number;
  /** From a promotion to every region's writes succeeding on the promoted server (probes, federation, agents). */
  readonly followMs: number;
}

/** Generous on purpose: the machine is shared; the report shows the measured times beside them. */
export const STORE_DRILL_BOUNDS_SLACK_MS = 3000;
export const PROMOTE_FOLLOW_MS = 8000;

/** A store step as the runner applied it: its kind, its region when it has one, and when it ran (epoch ms, when it returned). */
export interface AppliedStoreStep {
  readonly kind: 'pauseReplay' | 'resumeReplay' | 'killPrimary' | 'promote';
  readonly region?: string;
  readonly atMs: number;
  /** The server it acted on (the paused replica, the killed primary, the promoted one). */
  readonly server: string;
}

export interface StoreDrillInput {
  /** Each region's client calls. */
  readonly calls: ReadonlyMap<string, readonly StoreCall[]>;
  readonly steps: readonly AppliedStoreStep[];
  readonly warmupEndMs: number;
  readonly endMs: number;
  readonly bounds: StoreDrillBounds;
}

const within = (c: StoreCall, from: number, to: number): boolean => c.startMs >= from && c.startMs < to;
const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function storeDrillExpectations(input: StoreDrillInput): Expectation[] {
  const { bounds: b } = input;
  const out: Expectation[] = [];
  const all = [...input.calls.values()].flat().filter((c) => within(c, input.warmupEndMs, input.endMs));
  const reads = all.filter((c) => c.kind === 'read');
  const writes = all.filter((c) => c.kind === 'write');
  const killed = input.steps.some((s) => s.kind === 'killPrimary');
  // Without a primary killed, nothing the store steps do may fail a call.
  if (!killed) {
    const failed = (cs: StoreCall[]): StoreCall[] => cs.filter((c) => !c.ok);
    const fr = failed(reads);
    const fw = failed(writes);
    out.push({ what: 'every store read succeeds', met: reads.length > 0 && fr.length === 0, detail: `${reads.length - fr.length}/${reads.length} ok${fr[0] ? `; first failure: ${fr[0].error}` : ''}` });
    out.push({ what: 'every store write succeeds', met: writes.length > 0 && fw.length === 0, detail: `${writes.length - fw.length}/${writes.length} ok${fw[0] ? `; first failure: ${fw[0].error}` : ''}` });
  }
  for (const [i, pause] of input.steps.entries()) {
    if (pause.kind !== 'pauseReplay') continue;
    const resume = input.steps.slice(i + 1).find((s) => s.kind === 'resumeReplay' && s.region === pause.region);
    const until = resume?.atMs ?? input.endMs;
    const regionReads = (input.calls.get(pause.region!) ?? []).filter((c) => c.kind === 'read' && c.ok);
    const onReplica = (c: StoreCall): boolean => c.server === pause.server;
    const before = regionReads.filter((c) => within(c, input.warmupEndMs, pause.atMs));
    out.push({
      what: `before the pause, ${pause.region}'s reads are served by its own replica ${pause.server}`,
      met: before.length > 0 && before.filter(onReplica).length / before.length >= 0.9,
      detail: `${before.filter(onReplica).length}/${before.length} on ${pause.server}`,
    });
    const leaveBound = b.maxLagMs + 2 * b.probeIntervalMs + b.slackMs;
    const paused = regionReads.filter((c) => within(c, pause.atMs, until));
    const lastOn = paused.filter(onReplica).at(-1);
    const leftMs = lastOn ? lastOn.startMs - pause.atMs : 0;
    const elsewhere = paused.filter((c) => !onReplica(c) && c.startMs >= pause.atMs + leaveBound);
    const where = [...new Set(elsewhere.map((c) => c.server))].join(', ');
    out.push({
      what: `${pause.region}'s reads leave the paused replica within maxLag + 2 probe intervals + ${s1(b.slackMs)} (${s1(leaveBound)}) and stay away until the resume`,
      met: leftMs <= leaveBound && elsewhere.length > 0,
      detail: `last read on ${pause.server} ${s1(leftMs)} after the pause; then ${elsewhere.length} reads on ${where || 'no other server'}`,
    });
    if (resume) {
      const backBound = 2 * b.probeIntervalMs + b.slackMs;
      const firstBack = regionReads.find((c) => c.startMs >= resume.atMs && onReplica(c));
      const backMs = firstBack ? firstBack.startMs - resume.atMs : null;
      out.push({
        what: `after the resume, ${pause.region}'s reads come back to ${pause.server} within 2 probe intervals + ${s1(b.slackMs)} (${s1(backBound)})`,
        met: backMs !== null && backMs <= backBound,
        detail: backMs === null ? `no read on ${pause.server} after the resume` : `first read on ${pause.server} ${s1(backMs)} after the resume`,
      });
    }
  }
  const kill = input.steps.find((s) => s.kind === 'killPrimary');
  const promote = input.steps.find((s) => s.kind === 'promote' && (!kill || s.atMs >= kill.atMs));
  if (kill && promote) {
    const settled = promote.atMs + b.followMs;
    const failedWrites = writes.filter((c) => !c.ok);
    const outageMs = failedWrites.length ? Math.max(...failedWrites.map((c) => c.endMs)) - kill.atMs : 0;
    const windowBound = promote.atMs - kill.atMs + b.followMs;
    out.push({
      what: `writes fail only between the kill and ${s1(b.followMs)} after the promotion (${s1(windowBound)} after the kill)`,
      met: failedWrites.every((c) => c.endMs >= kill.atMs - 1000 && c.startMs < settled) && outageMs <= windowBound,
      detail: `${failedWrites.length} writes failed, the last one ending ${s1(outageMs)} after the kill`,
    });
    for (const [region, cs] of input.calls) {
      const ws = cs.filter((c) => c.kind === 'write' && within(c, promote.atMs, input.endMs));
      const first = ws.find((c) => c.ok && c.server === promote.server);
      const late = ws.filter((c) => c.startMs >= settled);
      const good = late.filter((c) => c.ok && c.server === promote.server);
      out.push({
        what: `after the promotion, ${region}'s writes succeed on the promoted server ${promote.server}`,
        met: first !== undefined && first.startMs - promote.atMs <= b.followMs && late.length > 0 && good.length === late.length,
        detail: `first write on ${promote.server} ${first ? s1(first.startMs - promote.atMs) : 'never'} after the promotion; from ${s1(b.followMs)} on ${good.length}/${late.length}`,
      });
    }
    const onOld = writes.filter((c) => c.ok && c.server === kill.server && c.startMs >= promote.atMs);
    out.push({ what: `no write lands on the old primary ${kill.server} after the promotion`, met: onOld.length === 0, detail: `${onOld.length} did` });
    const lateReads = reads.filter((c) => c.startMs >= settled);
    const badReads = lateReads.filter((c) => !c.ok);
    out.push({
      what: `reads succeed from ${s1(b.followMs)} after the promotion`,
      met: lateReads.length > 0 && badReads.length === 0,
      detail: `${lateReads.length - badReads.length}/${lateReads.length} ok${badReads[0] ? `; first failure: ${badReads[0].error}` : ''}`,
    });
  }
  return out;
}
