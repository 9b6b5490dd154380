// The lab's live terminal summary: one line per route with its counters and
// latency percentiles, redrawn every second.
import { routeMet, type LabReport } from './lab.js';

const pad = (s: string | number, n: number): string => String(s).padStart(n);

export function renderSummary(report: LabReport): string {
  const lines = [
    `entente lab — ${report.regions.map((r) => r.name).join(', ')} — ${report.durationS.toFixed(0)} s — workdir ${report.workdir}`,
    `${'route'.padEnd(22)} ${'from'.padEnd(14)} ${'to'.padEnd(14)} ${'expect'.padEnd(6)} ${pad('requests', 8)} ${pad('ok', 7)} ${pad('denied', 7)} ${pad('failed', 7)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}`,
  ];
  for (const r of report.routes) {
    // Exactly the routes that fail the run (Lab.report's expectationsMet).
    const good = routeMet(r);
    lines.push(
      `${r.id.padEnd(22)} ${`${r.from.region}/${r.from.service}`.padEnd(14)} ${`${r.to.region}/${r.to.service}`.padEnd(14)} ${r.expect.padEnd(6)} ${pad(r.requests, 8)} ${pad(r.ok, 7)} ${pad(r.denied, 7)} ${pad(r.failed, 7)} ${pad(r.p50Ms ?? '-', 8)} ${pad(r.p99Ms ?? '-', 8)}${good ? '' : '  <-- unexpected'}`,
    );
  }
  for (const e of report.unexpectedExits) lines.push(`! ${e}`);
  return lines.join('\n');
}
