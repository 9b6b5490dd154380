// The open-loop load generator, run as its own process: requests are sent on
// a fixed schedule (rate per second for N seconds) whatever the responses do,
// and each latency is counted from the request's INTENDED send time, so a
// stall shows up in the percentiles instead of slowing the load (no
// coordinated omission). Prints JSON lines: started, finished, result.
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { percentile } from '../../src/lab/latency-stats.js';

export interface OpenLoopSpec {
  readonly host: string;
  readonly port: number;
  /** "/" or an absolute URI ("http://bench-http.bench.mesh/") for an HTTP proxy. */
  readonly path: string;
  readonly hostHeader?: string;
  readonly rate: number;
  readonly durationS: number;
  /** Keep-alive connections opened before the schedule starts. */
  readonly connections: number;
  /** More are opened when none is free, up to this many; beyond it requests wait (counted as queued). */
  readonly maxConnections: number;
  readonly timeoutMs: number;
}

export interface OpenLoopResult {
  readonly sent: number;
  readonly ok: number;
  /** Transport errors, timeouts and non-200 answers. */
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Requests the generator itself dispatched more than LATE_MS after their intended time. */
  readonly lateStarts: number;
  /** Requests that found every one of maxConnections busy and waited for one. */
  readonly queued: number;
  /** Connections opened during the schedule because none was free. */
  readonly extraConnections: number;
  readonly achievedRps: number;
}

/** A dispatch this late means the generator, not the system under test, fell behind. */
export const LATE_MS = 5;

/** How many of `total` requests are due by `nowMs` when request i is due at startMs + i / rate. */
export function dueCount(startMs: number, rate: number, total: number, nowMs: number): number {
  if (nowMs < startMs) return 0;
  return Math.min(total, Math.floor(((nowMs - startMs) * rate) / 1000) + 1);
}

export function summarize(latenciesMs: number[], counts: Omit<OpenLoopResult, 'p50Ms' | 'p90Ms' | 'p99Ms' | 'maxMs' | 'achievedRps'>, durationS: number): OpenLoopResult {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const q = (p: number): number | null => percentile(sorted, p) ?? null;
  return { ...counts, p50Ms: q(50), p90Ms: q(90), p99Ms: q(99), maxMs: q(100), achievedRps: counts.ok / durationS };
}

async function generate(spec: OpenLoopSpec, emit: (line: object) => void): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxConnections, maxFreeSockets: spec.maxConnections, scheduling: 'fifo' });
  const seen = new WeakSet<Socket>();
  let opened = 0;
  let inFlight = 0;
  const headers = spec.hostHeader ? { host: spec.hostHeader } : {};
  const one = (intended: number, onDone: (latencyMs: number | undefined) => void): void => {
    inFlight++;
    let done = false;
    const finish = (latency: number | undefined): void => {
      if (done) return;
      done = true;
      inFlight--;
      onDone(latency);
    };
    const r = request({ host: spec.host, port: spec.port, path: spec.path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200 ? performance.now() - intended : undefined));
      res.on('error', () => finish(undefined));
    });
    r.on('socket', (s: Socket) => {
      if (seen.has(s)) return;
      seen.add(s);
      opened++;
    });
    r.setTimeout(spec.timeoutMs, () => r.destroy(new Error('timeout')));
    r.on('error', () => finish(undefined));
    r.end();
  };

  // The pool: `connections` requests at once leave that many keep-alive sockets free.
  await Promise.all(Array.from({ length: spec.connections }, () => new Promise<void>((resolve) => one(performance.now(), () => resolve()))));
  const warmOpened = opened;

  const total = Math.round(spec.rate * spec.durationS);
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let lateStarts = 0;
  let queued = 0;
  let answered = 0;
  const start = performance.now() + 10;
  emit({ event: 'started' });
  await new Promise<void>((resolve) => {
    const onDone = (latency: number | undefined): void => {
      answered++;
      if (latency === undefined) errors++;
      else {
        ok++;
        latencies.push(latency);
      }
      if (answered === total) resolve();
    };
    const tick = (): void => {
      const now = performance.now();
      const due = dueCount(start, spec.rate, total, now);
      for (; sent < due; sent++) {
        const intended = start + (sent * 1000) / spec.rate;
        if (now - intended > LATE_MS) lateStarts++;
        if (inFlight >= spec.maxConnections) queued++;
        one(intended, onDone);
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / spec.rate - performance.now()));
    };
    tick();
  });
  emit({ event: 'finished' });
  agent.destroy();
  emit({ event: 'result', result: summarize(latencies, { sent, ok, errors, lateStarts, queued, extraConnections: opened - warmOpened }, spec.durationS) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as OpenLoopSpec;
  generate(spec, (line) => process.stdout.write(`${JSON.stringify(line)}\n`)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
