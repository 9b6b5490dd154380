// The lab's demo application: one process per workload. It serves HTTP at its
// workload address (answering who it is and who called it), and drives steady
// traffic on its routes through its node agent's HTTP proxy, calling from its
// workload address so the agent knows who is calling. The lab reads its
// counters from a stats port.
import { Agent, createServer, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { RouteStats, startStatsServer } from './route-stats.js';

export interface DemoAppConfig {
  readonly workload: string;
  readonly service: string;
  readonly region: string;
  readonly listen: { host: string; port: number };
  readonly stats: { host: string; port: number };
  readonly proxy: { host: string; port: number };
  readonly sourceAddress: string;
  readonly rate: number;
  readonly timeoutMs: number;
  readonly routes: readonly { id: string; url: string; method: string; expectService: string }[];
}

const MAX_IN_FLIGHT = 32;

export async function runDemoApp(config: DemoAppConfig): Promise<{ close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        service: config.service,
        region: config.region,
        workload: config.workload,
        method: req.method,
        path: req.url,
        caller: req.headers['x-forwarded-client-cert'] ?? null,
        // Every spelling of the identity header that reached the app (dash or
        // underscore): the mesh must leave exactly its own.
        identityHeaders: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.replace(/_/g, '-') === 'x-forwarded-client-cert')),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(config.listen.port, config.listen.host, r));

  // An idle timeout of its own, so that Node closes a free socket a second before the agent's announced
  // keep-alive timeout (Keep-Alive: timeout=5). Without one, Node keeps free sockets until the agent closes
  // them, and a call that picks one as the agent closes it fails with a reset (seen on a loaded machine).
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, timeout: 60_000 });
  const states = new Map(config.routes.map((r) => [r.id, new RouteStats()]));

  const fire = (route: DemoAppConfig['routes'][number]): void => {
    const st = states.get(route.id)!;
    if (st.inFlight >= MAX_IN_FLIGHT) return;
    st.inFlight++;
    const start = performance.now();
    let settled = false;
    const done = (outcome: 'ok' | 'denied' | 'failed', err?: string): void => {
      if (settled) return;
      settled = true;
      st.settle(outcome, outcome !== 'failed' ? performance.now() - start : undefined, err);
    };
    const req = request(
      {
        host: config.proxy.host,
        port: config.proxy.port,
        method: route.method,
        path: route.url,
        headers: { host: new URL(route.url).host, 'content-length': 0 },
        localAddress: config.sourceAddress,
        agent,
        timeout: config.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status === 403 && res.headers['x-entente-deny-reason']) return done('denied');
          if (status >= 200 && status < 300) {
            try {
              const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { service?: string };
              // Honesty check: the answer must come from the service we called.
              if (body.service === route.expectService) return done('ok');
              return done('failed', `answer came from ${body.service}`);
            } catch {
              return done('failed', 'answer is not JSON');
            }
          }
          done('failed', `HTTP ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`);
        });
        res.on('error', (e) => done('failed', e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${config.timeoutMs} ms`)));
    req.on('error', (e) => done('failed', e.message));
    req.end();
  };

  // Traffic starts when the lab says so (POST /start on the stats port), once
  // every app of the demo listens: otherwise the first calls race app start-up.
  const timers: NodeJS.Timeout[] = [];
  let started = false;
  const stats = await startStatsServer({
    ...config.stats,
    workload: config.workload,
    routes: states,
    onStart: () => {
      if (started) return;
      started = true;
      config.routes.forEach((route, i) => {
        // Stagger routes so that they do not fire in lock step.
        timers[i] = setTimeout(() => {
          fire(route);
          timers[i] = setInterval(() => fire(route), 1000 / config.rate);
        }, Math.random() * (1000 / config.rate));
      });
    },
  });

  return {
    async close() {
      for (const t of timers) clearInterval(t);
      agent.destroy();
      server.closeAllConnections();
      stats.closeAllConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => stats.close(r))]);
    },
  };
}

export function loadDemoAppConfig(path: string): DemoAppConfig {
  return JSON.parse(readFileSync(path, 'utf8')) as DemoAppConfig;
}
