// The lab's live summary: on a terminal, one line per route with its counters
// and latency percentiles, redrawn every second; without one (a log, a pipe),
// one compact line per second (renderCompactLine) and the table at the end.
import { routeMet, type LabReport } from './lab.js';

const pad = (s: string | number, n: number): string => String(s).padStart(n);

/** Routes a running drill leaves without a reachable replica while its fault lasts: their failures are expected, not flagged. */
export interface SummaryContext {
  readonly unservable?: ReadonlySet<string>;
}

export function renderSummary(report: LabReport, ctx: SummaryContext = {}): string {
  const lines = [
    `entente lab — ${report.regions.map((r) => r.name).join(', ')} — ${report.durationS.toFixed(0)} s — workdir ${report.workdir}`,
    `${'route'.padEnd(22)} ${'from'.padEnd(14)} ${'to'.padEnd(14)} ${'expect'.padEnd(6)} ${pad('requests', 8)} ${pad('ok', 7)} ${pad('denied', 7)} ${pad('failed', 7)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}`,
  ];
  for (const r of report.routes) {
    // Exactly the routes that fail the run (Lab.report's expectationsMet).
    const good = !report.traffic || routeMet(r);
    const mark = good ? '' : ctx.unservable?.has(r.id) ? '  (unservable during the drill)' : '  <-- unexpected';
    lines.push(
      `${r.id.padEnd(22)} ${`${r.from.region}/${r.from.service}`.padEnd(14)} ${`${r.to.region}/${r.to.service}`.padEnd(14)} ${r.expect.padEnd(6)} ${pad(r.requests, 8)} ${pad(r.ok, 7)} ${pad(r.denied, 7)} ${pad(r.failed, 7)} ${pad(r.p50Ms ?? '-', 8)} ${pad(r.p99Ms ?? '-', 8)}${mark}`,
    );
  }
  for (const e of report.unexpectedExits) lines.push(`! ${e}`);
  return lines.join('\n');
}

/** A share as a percentage with one decimal, rounded down (so a route under the threshold never shows as reaching it). */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${(Math.floor((part * 1000) / whole) / 10).toFixed(1)}%`;
}

/**
 * One line for the whole run so far, e.g.
 * `t=12s ok 412/413 (99.7%) deny 40/40 failed 1 worst frontend->payments 97.1%`:
 * allowed routes' ok requests, denied routes' denied requests, failures, the
 * allowed route with the lowest share ok (when under 100%), the routes that
 * would fail the run (unexpected counts, or idle: no requests yet; those a
 * running drill leaves unservable are named apart) and components that exited.
 */
export function renderCompactLine(report: LabReport, ctx: SummaryContext = {}): string {
  const sum = (rs: LabReport['routes'], f: (r: LabReport['routes'][number]) => number): number => rs.reduce((n, r) => n + f(r), 0);
  const allow = report.routes.filter((r) => r.expect === 'allow');
  const deny = report.routes.filter((r) => r.expect === 'deny');
  const allowOk = sum(allow, (r) => r.ok);
  const allowReq = sum(allow, (r) => r.requests);
  const parts = [
    `t=${report.durationS.toFixed(0)}s`,
    `ok ${allowOk}/${allowReq} (${percent(allowOk, allowReq)})`,
    `deny ${sum(deny, (r) => r.denied)}/${sum(deny, (r) => r.requests)}`,
    `failed ${sum(report.routes, (r) => r.failed)}`,
  ];
  let worst: LabReport['routes'][number] | undefined;
  for (const r of allow) {
    if (r.requests === 0 || r.ok === r.requests) continue;
    if (!worst || r.ok / r.requests < worst.ok / worst.requests) worst = r;
  }
  if (worst) parts.push(`worst ${worst.id} ${percent(worst.ok, worst.requests)}`);
  // Routes that would fail the run: with requests, their counts say why; without, they are idle (so far).
  const unmet = report.routes.filter((r) => !routeMet(r));
  const idle = unmet.filter((r) => r.requests === 0);
  const wrong = unmet.filter((r) => r.requests > 0 && !ctx.unservable?.has(r.id));
  const unservable = unmet.filter((r) => r.requests > 0 && ctx.unservable?.has(r.id));
  if (wrong.length > 0) parts.push(`unexpected ${wrong.map((r) => r.id).join(',')}`);
  if (unservable.length > 0) parts.push(`unservable ${unservable.map((r) => r.id).join(',')}`);
  if (idle.length > 0) parts.push(`idle ${idle.map((r) => r.id).join(',')}`);
  if (report.unexpectedExits.length > 0) parts.push(`exits ${report.unexpectedExits.length}`);
  return parts.join(' ');
}
