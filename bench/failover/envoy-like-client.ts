// The comparison side of the failover benchmark: a client-side load balancer
// with Envoy's defaults, simulated (Envoy itself is not installed here), so
// both sides face the same fault on the same emulated WAN:
//  - priorities: the nearer replica is priority 0, the other priority 1; all
//    traffic goes to priority 0 while its host is not ejected (one host per
//    priority, so Envoy's overprovisioning factor changes nothing);
//  - outlier detection: consecutive_5xx = 5 (connect failures and timeouts
//    count as 5xx when local-origin errors are not split, Envoy's default),
//    base_ejection_time 30 s × times ejected, un-ejection checked every
//    interval = 10 s; max_ejection_percent 10% lets one of two hosts go;
//  - cluster connect_timeout 5 s, route timeout 15 s, no retries (Envoy's
//    route default), HTTP/1.1 keep-alive connection pool.
import { Agent, request } from 'node:http';
import type { SocketAddress } from '../../src/core/address.js';
import { regionOf } from './recovery.js';

export const ENVOY_DEFAULTS = {
  consecutive5xx: 5,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  connectTimeoutMs: 5_000,
  routeTimeoutMs: 15_000,
} as const;

interface Host {
  readonly address: SocketAddress;
  readonly agent: Agent;
  consecutive: number;
  ejectedAt: number | undefined;
  ejections: number;
}

/** Outlier state of one host, pure, so the rule is tested apart from sockets. */
export function afterResult(h: { consecutive: number; ejectedAt: number | undefined; ejections: number }, ok: boolean, now: number, o = ENVOY_DEFAULTS): void {
  if (ok) {
    h.consecutive = 0;
    return;
  }
  h.consecutive++;
  if (h.consecutive >= o.consecutive5xx && h.ejectedAt === undefined) {
    h.ejectedAt = now;
    h.ejections++;
    h.consecutive = 0;
  }
}

/** Envoy's interval timer: an ejection ends at the first tick past base_ejection_time × ejections. */
export function intervalTick(h: { ejectedAt: number | undefined; ejections: number }, now: number, o = ENVOY_DEFAULTS): void {
  if (h.ejectedAt !== undefined && now - h.ejectedAt >= o.baseEjectionMs * h.ejections) h.ejectedAt = undefined;
}

export class EnvoyLikeClient {
  private readonly hosts: Host[];
  private readonly timer: NodeJS.Timeout;

  constructor(priorities: readonly SocketAddress[], private readonly now: () => number = () => performance.now()) {
    this.hosts = priorities.map((address) => ({ address, agent: new Agent({ keepAlive: true, maxSockets: 64 }), consecutive: 0, ejectedAt: undefined, ejections: 0 }));
    this.timer = setInterval(() => {
      for (const h of this.hosts) intervalTick(h, this.now());
    }, ENVOY_DEFAULTS.intervalMs);
    this.timer.unref();
  }

  /** One POST /charge; resolves with whether it succeeded (2xx) and the region that answered, never rejects. */
  send(): Promise<{ ok: boolean; servedBy?: string | undefined }> {
    const host = this.hosts.find((h) => h.ejectedAt === undefined) ?? this.hosts[0]!;
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean, body = ''): void => {
        if (settled) return;
        settled = true;
        clearTimeout(route);
        afterResult(host, ok, this.now());
        resolve({ ok, servedBy: ok ? regionOf(body) : undefined });
      };
      const req = request({ host: host.address.host, port: host.address.port, method: 'POST', path: '/charge', agent: host.agent, headers: { 'content-length': 0 } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, body));
        res.on('error', () => done(false));
      });
      const route = setTimeout(() => {
        req.destroy(new Error('route timeout'));
        done(false);
      }, ENVOY_DEFAULTS.routeTimeoutMs);
      req.on('socket', (s) => {
        if (!s.connecting) return;
        const t = setTimeout(() => s.destroy(new Error('connect timeout')), ENVOY_DEFAULTS.connectTimeoutMs);
        s.once('connect', () => clearTimeout(t));
        s.once('close', () => clearTimeout(t));
      });
      req.on('error', () => done(false));
      req.end();
    });
  }

  close(): void {
    clearInterval(this.timer);
    for (const h of this.hosts) h.agent.destroy();
  }
}
