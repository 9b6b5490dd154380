// A drill's report, computed from the demo apps' per-second buckets, the
// drill's timeline and which routes can be served while the fault lasts.
// Pure: drill-runner.ts gathers the inputs. Definitions: docs/operations.md "Lab drills".
import { percentile } from './latency-stats.js';
import type { RouteBucket } from './route-buckets.js';

/** A route's share ok that counts as working, per second and per phase. */
export const OK_SHARE = 0.99;

export interface DrillTimeline {
  /** Epoch ms: traffic started; the warm-up ends at `before`'s start. */
  readonly warmupEndMs: number;
  /** Epoch ms of the first fault step. */
  readonly faultMs: number;
  /** Epoch ms of the heal (the last step). */
  readonly healMs: number;
  readonly endMs: number;
}

export interface DrillRoute {
  readonly id: string;
  readonly expect: 'allow' | 'deny';
  /** Whether it can be served while the fault lasts (servability.ts). */
  readonly servable: boolean;
}

export interface PhaseCounts {
  name: string;
  requests: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Expectation {
  what: string;
  met: boolean;
  detail: string;
}

export interface DrillReport {
  drill: string;
  phases: PhaseCounts[];
  /** The same counts, during the fault, of the allowed routes that cannot be served while it lasts. */
  unservable: PhaseCounts;
  /** ms from the fault to the first second >= 99% ok on the counted routes after a worse one; 0 if never below; null if it never recovered before the heal. */
  recoverMs: number | null;
  /** ms from the heal to the first second where every allowed route is >= 99% ok; null if not before the end. */
  healConvergeMs: number | null;
  expectationsMet: boolean;
  expectations: Expectation[];
}

/** Seconds wholly inside [startMs, endMs). */
function secondsIn(startMs: number, endMs: number): [number, number] {
  return [Math.ceil(startMs / 1000), Math.floor(endMs / 1000)];
}

function counts(name: string, buckets: readonly RouteBucket[]): PhaseCounts {
  const samples = buckets.flatMap((b) => b.samples).sort((a, b) => a - b);
  const round = (v: number | undefined): number => Math.round((v ?? 0) * 10) / 10;
  return {
    name,
    requests: buckets.reduce((n, b) => n + b.requests, 0),
    ok: buckets.reduce((n, b) => n + b.ok, 0),
    failed: buckets.reduce((n, b) => n + b.failed, 0),
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
  };
}

/** Per second of [from, to): each route's bucket (missing: no request completed). */
function perSecond(routes: readonly string[], buckets: ReadonlyMap<string, readonly RouteBucket[]>, from: number, to: number): Map<number, (RouteBucket | undefined)[]> {
  const out = new Map<number, (RouteBucket | undefined)[]>();
  for (let s = from; s < to; s++) out.set(s, routes.map((id) => buckets.get(id)?.find((b) => b.second === s)));
  return out;
}

const share = (ok: number, requests: number): number => (requests === 0 ? 0 : ok / requests);

export interface DrillReportInput {
  readonly drill: string;
  readonly routes: readonly DrillRoute[];
  readonly buckets: ReadonlyMap<string, readonly RouteBucket[]>;
  readonly timeline: DrillTimeline;
  /** Expectations the drill checked itself (policy drift seen and cleared, no unexpected exits). */
  readonly extra?: readonly Expectation[];
}

export function drillReport(input: DrillReportInput): DrillReport {
  const { timeline: t, buckets } = input;
  const counted = input.routes.filter((r) => r.expect === 'allow' && r.servable).map((r) => r.id);
  const unservable = input.routes.filter((r) => r.expect === 'allow' && !r.servable).map((r) => r.id);
  const allowed = [...counted, ...unservable];
  const windows: [string, number, number][] = [
    ['before', t.warmupEndMs, t.faultMs],
    ['during', t.faultMs, t.healMs],
    ['after', t.healMs, t.endMs],
  ];
  const inWindow = (ids: readonly string[], start: number, end: number): RouteBucket[] => {
    const [a, b] = secondsIn(start, end);
    return ids.flatMap((id) => (buckets.get(id) ?? []).filter((x) => x.second >= a && x.second < b));
  };
  const phases = windows.map(([name, a, b]) => counts(name, inWindow(counted, a, b)));

  // recoverMs: the counted routes summed per second.
  const [fa, fb] = secondsIn(t.faultMs, t.healMs);
  const during = [...perSecond(counted, buckets, fa, fb)].map(([s, bs]) => ({ s, good: share(bs.reduce((n, b) => n + (b?.ok ?? 0), 0), bs.reduce((n, b) => n + (b?.requests ?? 0), 0)) >= OK_SHARE }));
  let recoverMs: number | null = 0;
  const firstBad = during.findIndex((x) => !x.good);
  if (counted.length > 0 && firstBad >= 0) {
    const back = during.slice(firstBad).find((x) => x.good);
    recoverMs = back ? Math.max(0, back.s * 1000 - t.faultMs) : null;
  }
  // healConvergeMs: every allowed route on its own, per second.
  const [ha, hb] = secondsIn(t.healMs, t.endMs);
  const converged = [...perSecond(allowed, buckets, ha, hb)].find(([, bs]) => bs.every((b) => b !== undefined && share(b.ok, b.requests) >= OK_SHARE));
  const healConvergeMs = converged ? Math.max(0, converged[0] * 1000 - t.healMs) : null;

  const expectations: Expectation[] = [];
  const phaseOk = (p: PhaseCounts, what: string): void => {
    const met = p.requests > 0 && share(p.ok, p.requests) >= OK_SHARE;
    expectations.push({ what, met, detail: `${p.ok}/${p.requests} ok${p.requests === 0 ? ' (no requests)' : ''}` });
  };
  phaseOk(phases[0]!, `before the fault, routes that must keep working are >= ${OK_SHARE * 100}% ok (${counted.join(', ') || 'none'})`);
  expectations.push({
    what: 'during the fault, routes that must keep working recover',
    met: recoverMs !== null,
    detail: recoverMs === null ? 'no second >= 99% ok after the first worse one before the heal' : `recoverMs ${recoverMs}`,
  });
  if (recoverMs !== null) {
    const from = t.faultMs + recoverMs;
    phaseOk(counts('during-recovered', inWindow(counted, from, t.healMs)), `during the fault, once recovered, routes that must keep working are >= ${OK_SHARE * 100}% ok`);
  }
  expectations.push({
    what: `after the heal, every allowed route (unservable ones too: ${unservable.join(', ') || 'none'}) converges to >= ${OK_SHARE * 100}% ok`,
    met: healConvergeMs !== null,
    detail: healConvergeMs === null ? 'not before the end of the drill' : `healConvergeMs ${healConvergeMs}`,
  });
  // Denied routes: never ok; while servable, every request denied (a route whose destination is cut off may fail instead).
  for (const r of input.routes.filter((x) => x.expect === 'deny')) {
    const whole = inWindow([r.id], t.warmupEndMs, t.endMs);
    const c = counts(r.id, whole);
    const strict = r.servable ? whole : [...inWindow([r.id], t.warmupEndMs, t.faultMs), ...inWindow([r.id], t.healMs, t.endMs)];
    const denied = strict.reduce((n, b) => n + b.denied, 0);
    const req = strict.reduce((n, b) => n + b.requests, 0);
    expectations.push({ what: `${r.id} stays denied`, met: c.ok === 0 && denied === req, detail: `${c.ok} ok of ${c.requests}; ${denied}/${req} denied where it can be served` });
  }
  expectations.push(...(input.extra ?? []));
  return {
    drill: input.drill,
    phases,
    unservable: counts('during', inWindow(unservable, t.faultMs, t.healMs)),
    recoverMs,
    healConvergeMs,
    expectationsMet: expectations.every((e) => e.met),
    expectations,
  };
}

/** The report as an operator reads it: one line per phase, then each expectation. */
export function renderDrillReport(r: DrillReport): string {
  const pct = (p: PhaseCounts): string => (p.requests === 0 ? '-' : `${(Math.floor((p.ok * 1000) / p.requests) / 10).toFixed(1)}%`);
  const line = (label: string, p: PhaseCounts): string =>
    `${label.padEnd(20)} ${String(p.requests).padStart(7)} req ${String(p.ok).padStart(7)} ok (${pct(p)}) ${String(p.failed).padStart(6)} failed  p50 ${p.p50Ms} ms  p99 ${p.p99Ms} ms`;
  const ms = (v: number | null): string => (v === null ? 'never' : `${v} ms`);
  return [
    `drill ${r.drill}: ${r.expectationsMet ? 'every expectation met' : 'EXPECTATIONS NOT MET'}`,
    ...r.phases.map((p) => line(p.name, p)),
    line('unservable (during)', r.unservable),
    `recover ${ms(r.recoverMs)}, heal converge ${ms(r.healConvergeMs)}`,
    ...r.expectations.map((e) => `${e.met ? 'ok  ' : 'FAIL'} ${e.what}: ${e.detail}`),
  ].join('\n');
}
