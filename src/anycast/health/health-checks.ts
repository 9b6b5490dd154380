// The three health checks: HTTP (a status code), TCP (a connection opens) and
// the region's own view from its controller (GET /v1/health: enough healthy
// gateways and exported services). A check never throws; it returns a result.
import { connect } from 'node:net';
import * as z from 'zod';
import type { HealthCheckConfig } from '../config.js';
import { formatSocketAddress } from '../../core/address.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly latencyMs: number;
  /** Set by the controller check: the region the controller speaks for. */
  readonly region?: string;
}

export interface HealthCheck {
  readonly name: string;
  readonly type: HealthCheckConfig['type'];
  run(): Promise<CheckResult>;
}

function causeText(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

async function timed(fn: () => Promise<Omit<CheckResult, 'latencyMs'>>): Promise<CheckResult> {
  const t0 = performance.now();
  try {
    const r = await fn();
    return { ...r, latencyMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, detail: causeText(err), latencyMs: Math.round(performance.now() - t0) };
  }
}

/** The controller's region health contract (see src/controller: GET /v1/health). */
export const regionHealthSchema = z.object({
  region: z.string(),
  healthy: z.boolean(),
  gateways: z.object({ healthy: z.number().int().min(0), total: z.number().int().min(0) }),
  exportedServices: z.object({ healthy: z.number().int().min(0), total: z.number().int().min(0) }),
});
export type RegionHealth = z.infer<typeof regionHealthSchema>;

/**
 * Decides whether the region can serve. With no thresholds configured the
 * controller's own verdict ("healthy") counts; with thresholds, the counts do,
 * so an operator can accept a degraded region (e.g. 1 of 3 gateways).
 */
export function judgeRegionHealth(body: unknown, opts: { minHealthyGateways?: number; minHealthyServices?: number }): { ok: boolean; detail: string; region?: string } {
  const r = regionHealthSchema.safeParse(body);
  if (!r.success) return { ok: false, detail: `unexpected health document: ${r.error.issues[0]?.message ?? 'invalid'}` };
  const h = r.data;
  const counts = `gateways ${h.gateways.healthy}/${h.gateways.total}, services ${h.exportedServices.healthy}/${h.exportedServices.total}`;
  if (opts.minHealthyGateways === undefined && opts.minHealthyServices === undefined) {
    return { ok: h.healthy, detail: `region ${h.region} ${h.healthy ? 'healthy' : 'unhealthy'} (${counts})`, region: h.region };
  }
  const gwOk = h.gateways.healthy >= (opts.minHealthyGateways ?? 0);
  const svcOk = h.exportedServices.healthy >= (opts.minHealthyServices ?? 0);
  const why = !gwOk ? `fewer than ${opts.minHealthyGateways} healthy gateways` : !svcOk ? `fewer than ${opts.minHealthyServices} healthy services` : 'enough healthy';
  return { ok: gwOk && svcOk, detail: `region ${h.region}: ${why} (${counts})`, region: h.region };
}

export function buildHealthCheck(c: HealthCheckConfig): HealthCheck {
  switch (c.type) {
    case 'http':
      return {
        name: c.name ?? `http ${c.url}`, type: 'http',
        run: () => timed(async () => {
          const res = await fetch(c.url, { signal: AbortSignal.timeout(c.timeout), redirect: 'manual' });
          await res.body?.cancel();
          const ok = c.expectStatus === undefined ? res.status >= 200 && res.status < 300 : res.status === c.expectStatus;
          return { ok, detail: `HTTP ${res.status}` };
        }),
      };
    case 'tcp':
      return {
        name: c.name ?? `tcp ${formatSocketAddress(c.address)}`, type: 'tcp',
        run: () => timed(() => new Promise((resolve) => {
          const s = connect({ host: c.address.host, port: c.address.port });
          const done = (r: { ok: boolean; detail: string }): void => {
            clearTimeout(t);
            s.destroy();
            resolve(r);
          };
          const t = setTimeout(() => done({ ok: false, detail: 'timed out' }), c.timeout);
          s.once('connect', () => done({ ok: true, detail: 'connected' }));
          s.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: err.code ?? err.message }));
        })),
      };
    case 'controller':
      return {
        name: c.name ?? `controller ${c.url}`, type: 'controller',
        run: () => timed(async () => {
          // 503 carries the same body: read it either way, the thresholds decide.
          const res = await fetch(c.url, { signal: AbortSignal.timeout(c.timeout), headers: { accept: 'application/json' } });
          const body: unknown = await res.json().catch(() => undefined);
          return judgeRegionHealth(body, c);
        }),
      };
  }
}
