// One region's store client (a lab process, as the demo apps are): a writer
// and a reader of the lab's replicated store, each with its own workload
// address (so its own identity), calling through the node agent's outbound
// ports for orders-rw and orders-ro. Every call opens a fresh connection, so
// each one is routed anew, and records which server answered: the drills
// judge where reads and writes went from these records (store-drill.ts).
import type { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { RouteStats, startStatsServer } from './route-stats.js';

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
  const counters = { write: new RouteStats(), read: new RouteStats() };
  const fire = (kind: 'write' | 'read'): void => {
    const st = counters[kind];
    if (st.inFlight >= MAX_IN_FLIGHT) return;
    st.inFlight++;
    const startMs = Date.now();
    const t0 = performance.now();
    const settle = (server: string | undefined, error?: string): void => {
      st.settle(error === undefined ? 'ok' : 'failed', error === undefined ? performance.now() - t0 : undefined, error);
      calls.push({ kind, startMs, endMs: Date.now(), ok: error === undefined, ...(server ? { server } : {}), ...(error !== undefined ? { error } : {}) });
      if (calls.length > KEEP_CALLS) calls.splice(0, calls.length - KEEP_CALLS);
    };
    void callOnce(cfg, kind === 'write' ? cfg.writer : cfg.reader, kind === 'write' ? WRITE : READ, kind === 'write' ? [cfg.region] : []).then(
      (server) => settle(server),
      (err: unknown) => settle(undefined, (err as Error).message),
    );
  };

  const timers: NodeJS.Timeout[] = [];
  let started = false;
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const stats = await startStatsServer({
    ...cfg.stats,
    workload: cfg.name,
    routes: new Map([
      [cfg.routes.write, counters.write],
      [cfg.routes.read, counters.read],
    ]),
    onStart: () => {
      if (started) return;
      started = true;
      timers.push(setInterval(() => fire('write'), cfg.everyMs));
      // The reader half a period later, so the two do not fire in lock step.
      timers.push(setTimeout(() => timers.push(setInterval(() => fire('read'), cfg.everyMs)), cfg.everyMs / 2));
    },
    more: (req, url, res) => {
      // POST /check: one write and one read now, not counted: the lab waits for it before counting starts.
      if (req.method === 'POST' && url.pathname === '/check') {
        void Promise.all([callOnce(cfg, cfg.writer, WRITE, [cfg.region]), callOnce(cfg, cfg.reader, READ)]).then(
          ([write, read]) => json(res, 200, { write, read }),
          (err: unknown) => json(res, 503, { error: (err as Error).message }),
        );
        return true;
      }
      if (url.pathname === '/calls') {
        const since = Number(url.searchParams.get('since') ?? 0) || 0;
        json(res, 200, { name: cfg.name, region: cfg.region, calls: calls.filter((c) => c.startMs >= since) });
        return true;
      }
      return false;
    },
  });
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
