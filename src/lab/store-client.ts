// One region's store client (a lab process, as the demo apps are): a writer
// and a reader of the lab's replicated store, each with its own workload
// address (so its own identity), calling through the node agent's outbound
// ports for orders-rw and orders-ro. Every call opens a fresh connection, so
// each one is routed anew, and records which server answered: the drills
// judge where reads and writes went from these records (store-drill.ts).
import { createServer, type Server } from 'node:http';
import { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { RouteBuckets } from './route-buckets.js';

export interface StoreClientConfig {
  readonly region: string;
  readonly name: string;
  readonly writer: { source: string; listen: string };
  readonly reader: { source: string; listen: string };
  readonly stats: { host: string; port: number };
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly everyMs: number;
  readonly timeoutMs: number;
  readonly routes: { write: string; read: string };
}

/** One call as the client saw it. `server` is the cluster_name of the server that answered (absent when none did). */
export interface StoreCall {
  readonly kind: 'write' | 'read';
  /** Epoch ms when the call started and when it settled. */
  readonly startMs: number;
  readonly endMs: number;
  readonly ok: boolean;
  readonly server?: string;
  readonly error?: string;
}

/** Calls kept for the drills (the last ten minutes at five a second each). */
const KEEP_CALLS = 6000;
/** In flight per kind: a call to a far primary takes several WAN round trips (connect, SCRAM, query). */
const MAX_IN_FLIGHT = 8;

const WRITE = "INSERT INTO orders (region) VALUES ($1) RETURNING current_setting('cluster_name') AS server";
const READ = "SELECT current_setting('cluster_name') AS server, (SELECT count(*) FROM orders) AS n";

/** One statement over a new connection from `source` to `listen` (host:port): the server that answered. */
export async function callOnce(cfg: Pick<StoreClientConfig, 'user' | 'password' | 'database' | 'timeoutMs'>, from: { source: string; listen: string }, query: string, params: unknown[] = []): Promise<string> {
  const at = from.listen.lastIndexOf(':');
  // The agent knows its caller by source address: the connection must leave from the workload's.
  class FromWorkload extends Socket {
    override connect(...args: unknown[]): this {
      return super.connect({ port: args[0] as number, host: args[1] as string, localAddress: from.source });
    }
  }
  const client = new pg.Client({
    host: from.listen.slice(0, at),
    port: Number(from.listen.slice(at + 1)),
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    ssl: false,
    connectionTimeoutMillis: cfg.timeoutMs,
    query_timeout: cfg.timeoutMs,
    application_name: 'entente-lab-store',
    stream: () => new FromWorkload(),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const rows = (await client.query<{ server: string }>(query, params)).rows;
    return rows[0]?.server ?? '?';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function runStoreClient(cfg: StoreClientConfig): Promise<{ close(): Promise<void> }> {
  const calls: StoreCall[] = [];
  const counters = {
    write: { id: cfg.routes.write, requests: 0, ok: 0, denied: 0, failed: 0, inFlight: 0, samples: [] as number[], buckets: new RouteBuckets(), lastError: undefined as string | undefined },
    read: { id: cfg.routes.read, requests: 0, ok: 0, denied: 0, failed: 0, inFlight: 0, samples: [] as number[], buckets: new RouteBuckets(), lastError: undefined as string | undefined },
  };
  const fire = (kind: 'write' | 'read'): void => {
    const st = counters[kind];
    if (st.inFlight >= MAX_IN_FLIGHT) return;
    st.inFlight++;
    const startMs = Date.now();
    const t0 = performance.now();
    const via = kind === 'write' ? cfg.writer : cfg.reader;
    void callOnce(cfg, via, kind === 'write' ? WRITE : READ, kind === 'write' ? [cfg.region] : []).then(
      (server) => settle(true, server),
      (err: unknown) => settle(false, undefined, (err as Error).message),
    );
    function settle(ok: boolean, server?: string, error?: string): void {
      st.inFlight--;
      st.requests++;
      const ms = performance.now() - t0;
      if (ok) {
        st.ok++;
        st.samples.push(ms);
      } else {
        st.failed++;
        st.lastError = error;
      }
      st.buckets.record(ok ? 'ok' : 'failed', ok ? ms : undefined);
      calls.push({ kind, startMs, endMs: Date.now(), ok, ...(server ? { server } : {}), ...(error ? { error } : {}) });
      if (calls.length > KEEP_CALLS) calls.splice(0, calls.length - KEEP_CALLS);
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const startedAt = Date.now();
  let started = false;
  const stats: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stats');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/start') {
      if (!started) {
        started = true;
        timers.push(setInterval(() => fire('write'), cfg.everyMs));
        // The reader half a period later, so the two do not fire in lock step.
        timers.push(setTimeout(() => timers.push(setInterval(() => fire('read'), cfg.everyMs)), cfg.everyMs / 2));
      }
      res.writeHead(204);
      res.end();
      return;
    }
    // POST /check: one write and one read now, not counted: the lab waits for it before counting starts.
    if (req.method === 'POST' && url.pathname === '/check') {
      void Promise.all([callOnce(cfg, cfg.writer, WRITE, [cfg.region]), callOnce(cfg, cfg.reader, READ)]).then(
        ([write, read]) => json(200, { write, read }),
        (err: unknown) => json(503, { error: (err as Error).message }),
      );
      return;
    }
    if (url.pathname === '/calls') {
      const since = Number(url.searchParams.get('since') ?? 0) || 0;
      return json(200, { name: cfg.name, region: cfg.region, calls: calls.filter((c) => c.startMs >= since) });
    }
    if (url.pathname === '/buckets') {
      const since = Number(url.searchParams.get('since') ?? 0) || 0;
      return json(200, { workload: cfg.name, startedAt, routes: Object.values(counters).map((s) => ({ id: s.id, buckets: s.buckets.since(since) })) });
    }
    // Destructive read of samples, as the demo apps' (the lab is the only reader).
    json(200, {
      workload: cfg.name,
      routes: Object.values(counters).map((s) => {
        const samples = s.samples;
        s.samples = [];
        return { id: s.id, requests: s.requests, ok: s.ok, denied: s.denied, failed: s.failed, inFlight: s.inFlight, lastError: s.lastError, samples };
      }),
    });
  });
  await new Promise<void>((r) => stats.listen(cfg.stats.port, cfg.stats.host, r));
  return {
    async close() {
      for (const t of timers) clearInterval(t);
      stats.closeAllConnections();
      await new Promise((r) => stats.close(r));
    },
  };
}

export function loadStoreClientConfig(path: string): StoreClientConfig {
  return JSON.parse(readFileSync(path, 'utf8')) as StoreClientConfig;
}
