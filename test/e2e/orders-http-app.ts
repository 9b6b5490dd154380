// A small replicated HTTP data service for the HTTP data-routing test: a
// primary that appends orders to a log, and replicas that pull the log from
// it (directly, as a database's own replication would, not through the mesh)
// and can be paused, promoted and stopped. Each answers the lag endpoint the
// DataRoute probes (docs/data-routing.md "HTTP data services"):
//   GET /lag -> {"role", "position", "lagSeconds"}
// and says which server answered in x-served-by. Real sockets, in the test's
// process: the mesh's agents and controllers are the parts under test.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

interface Entry {
  readonly position: number;
  readonly id: string;
  readonly item: string;
}

export interface OrdersServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  role(): 'primary' | 'replica';
  position(): number;
  /** Stops pulling the primary's log (replicas): it falls behind while writes go on. */
  pause(): void;
  resume(): void;
  /** Becomes a primary: takes writes from its own position on, stops pulling. */
  promote(): void;
  close(): Promise<void>;
}

const PULL_MS = 50;

function send(res: ServerResponse, name: string, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-served-by': name });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A server of the data service: a primary, or a replica of `primaryUrl`. */
export async function startOrdersServer(o: { name: string; host: string; port: number; primaryUrl?: string }): Promise<OrdersServer> {
  const log: Entry[] = [];
  let role: 'primary' | 'replica' = o.primaryUrl ? 'replica' : 'primary';
  let paused = false;
  /** When the replica last had all the primary had (epoch ms). */
  let caughtUpAt = Date.now();
  let pulling: NodeJS.Timeout | undefined;
  let closed = false;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/lag') {
        send(res, o.name, 200, role === 'primary' ? { role, position: log.length } : { role, position: log.length, lagSeconds: Math.max(0, (Date.now() - caughtUpAt) / 1000) });
        return;
      }
      if (req.method === 'GET' && url.pathname === '/log') {
        const from = Number(url.searchParams.get('from') ?? '0');
        send(res, o.name, 200, { position: log.length, entries: log.slice(from) });
        return;
      }
      if (req.method === 'POST' && url.pathname === '/orders') {
        const body = await readBody(req);
        if (role !== 'primary') {
          send(res, o.name, 409, { error: 'read-only: this server is a replica' });
          return;
        }
        const item = (JSON.parse(body || '{}') as { item?: string }).item ?? '';
        const entry: Entry = { position: log.length + 1, id: `o${log.length + 1}-${o.name}`, item };
        log.push(entry);
        send(res, o.name, 201, { id: entry.id, position: entry.position });
        return;
      }
      const m = /^\/orders\/([A-Za-z0-9-]+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        const entry = log.find((e) => e.id === m[1]);
        send(res, o.name, entry ? 200 : 404, entry ?? { error: 'no such order here' });
        return;
      }
      send(res, o.name, 404, { error: 'no such path' });
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });

  const pull = async (): Promise<void> => {
    if (closed || role !== 'replica' || paused || !o.primaryUrl) return;
    try {
      const r = await getJson<{ position: number; entries: Entry[] }>(`${o.primaryUrl}/log?from=${log.length}`);
      for (const e of r.entries) if (e.position === log.length + 1) log.push(e);
      if (log.length >= r.position && !paused) caughtUpAt = Date.now();
    } catch {
      // The primary is down: the replica keeps what it has, and its lag grows.
    }
  };
  const loop = (): void => {
    pulling = setTimeout(() => void pull().finally(() => role === 'replica' && !closed && loop()), PULL_MS);
  };
  if (role === 'replica') loop();

  return {
    name: o.name,
    host: o.host,
    port: o.port,
    role: () => role,
    position: () => log.length,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    promote: () => {
      role = 'primary';
      clearTimeout(pulling);
    },
    close: async () => {
      closed = true;
      clearTimeout(pulling);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
