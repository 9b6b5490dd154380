// One route's counters as a lab process keeps them (a demo app, a store
// client), and the stats port the lab reads them from: GET / (counters, and
// the latency samples since the last read), GET /buckets?since=SECOND
// (per-second counts, route-buckets.ts) and POST /start (drive the traffic).
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { RouteCounters } from './latency-stats.js';
import { RouteBuckets } from './route-buckets.js';

export class RouteStats implements RouteCounters {
  requests = 0;
  ok = 0;
  denied = 0;
  failed = 0;
  inFlight = 0;
  lastError: string | undefined;
  readonly buckets = new RouteBuckets();
  private samples: number[] = [];

  /** A call ended. Counted when settled, so that requests = ok + denied + failed at every read; latency of answered calls only. */
  settle(outcome: 'ok' | 'denied' | 'failed', latencyMs: number | undefined, error?: string): void {
    this.inFlight--;
    this.requests++;
    this[outcome]++;
    if (error) this.lastError = error;
    if (latencyMs !== undefined) this.samples.push(latencyMs);
    this.buckets.record(outcome, latencyMs);
  }

  /** The counters and the samples since the last read (destructive: the lab is the only reader and keeps them). */
  take(id: string): { id: string; requests: number; ok: number; denied: number; failed: number; inFlight: number; lastError: string | undefined; samples: number[] } {
    const samples = this.samples;
    this.samples = [];
    return { id, requests: this.requests, ok: this.ok, denied: this.denied, failed: this.failed, inFlight: this.inFlight, lastError: this.lastError, samples };
  }
}

export interface StatsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly workload: string;
  readonly routes: ReadonlyMap<string, RouteStats>;
  /** POST /start: the lab says when every process listens, so the first calls do not race start-up. */
  readonly onStart: () => void;
  /** Endpoints of this process's own; true when it answered the request. */
  readonly more?: (req: IncomingMessage, url: URL, res: ServerResponse) => boolean;
}

export async function startStatsServer(o: StatsServerOptions): Promise<Server> {
  // Tells one run of this process from the next (a drill restarts it): the lab keeps each run's buckets apart.
  const startedAt = Date.now();
  const json = (res: ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stats');
    if (req.method === 'POST' && url.pathname === '/start') {
      o.onStart();
      res.writeHead(204);
      res.end();
      return;
    }
    if (o.more?.(req, url, res)) return;
    // Not destructive: the lab overwrites the buckets it holds with what it reads again.
    if (url.pathname === '/buckets') {
      const since = Number(url.searchParams.get('since') ?? 0) || 0;
      return json(res, { workload: o.workload, startedAt, routes: [...o.routes].map(([id, s]) => ({ id, buckets: s.buckets.since(since) })) });
    }
    json(res, { workload: o.workload, routes: [...o.routes].map(([id, s]) => s.take(id)) });
  });
  await new Promise<void>((r) => server.listen(o.port, o.host, r));
  return server;
}
