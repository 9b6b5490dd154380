// The controller's admin API: plain HTTP, on loopback by default. Reads
// (status, health, metrics, the /healthz and /readyz probes) are open to whoever can reach it; anything that
// changes state needs the bearer credential the controller wrote to
// <dataDir>/admin.token (0600) at start.
import { createServer, type Server, type IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { readJsonObject, sendError, sendJson } from '../core/http-json.js';
import { canonicalIp, isUnspecifiedIp } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import type { NodeKind } from './join-tokens.js';
import { FlowQueryError, parseFlowQuery, type FlowFilter } from './flow-query.js';
import type { DashboardAssets } from './dashboard-assets.js';
import { healthAnswer } from '../core/health-endpoints.js';

export interface AdminApiDeps {
  readonly credential: string;
  readonly status: () => unknown;
  /** Policy drift between this region and its peers (docs/operations.md "Drift"). */
  readonly drift: () => unknown;
  /** GET /v1/flows: this region's flows and its peers' (docs/observability.md "Flows"). */
  readonly flows: (q: FlowFilter) => Promise<unknown>;
  /** GET /v1/servicemap: the region's and its peers' routes over a recent window, for the dashboard. */
  readonly serviceMap: (windowMs: number) => Promise<unknown>;
  readonly dashboard: DashboardAssets;
  readonly health: () => { healthy: boolean } & Record<string, unknown>;
  readonly createToken: (node: string, kind: NodeKind, ttlMs: number | undefined, addresses: readonly string[]) => { token: string; expiresAt: Date } | Promise<{ token: string; expiresAt: Date }>;
  readonly reloadResources: () => Promise<unknown>;
  readonly registry: Registry;
  readonly log: Logger;
}

function authorized(req: IncomingMessage, credential: string): boolean {
  const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const want = Buffer.from(credential);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The addresses a node may advertise, as canonical IPs; or the error message naming the bad one. */
function tokenAddresses(value: unknown): string[] | string {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return `addresses: ${JSON.stringify(value)} is not a list; expected IP literals such as ["10.0.0.5"]`;
  const out: string[] = [];
  for (const v of value) {
    const ip = typeof v === 'string' ? canonicalIp(v) : undefined;
    if (ip === undefined || isUnspecifiedIp(ip)) return `addresses: ${JSON.stringify(v)} is not an IP address a node can be dialled at; expected an IP literal such as "10.0.0.5" or "2001:db8::5" (no names, no 0.0.0.0)`;
    if (!out.includes(ip)) out.push(ip);
  }
  return out;
}

export function startAdminApi(deps: AdminApiDeps, listen: { host: string; port: number }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const handle = async (): Promise<void> => {
      // Probes (Kubernetes, load balancers): cheap, unlike /v1/status, which grows with the region.
      // This server starts after the agent API, so answering means the controller serves; it is then ready too.
      const probe = req.method === 'GET' ? healthAnswer(req.url, () => ({ notReady: [] })) : undefined;
      if (probe) return sendJson(res, probe.status, probe.body);
      if (req.method === 'GET' && path === '/v1/status') return sendJson(res, 200, deps.status());
      if (req.method === 'GET' && path === '/v1/drift') return sendJson(res, 200, deps.drift());
      if (req.method === 'GET' && path === '/v1/flows') {
        let q: FlowFilter;
        try {
          q = parseFlowQuery(new URL(req.url ?? '/', 'http://admin.invalid').searchParams);
        } catch (err) {
          if (err instanceof FlowQueryError) return sendError(res, 400, 'BAD_REQUEST', err.message);
          throw err;
        }
        return sendJson(res, 200, await deps.flows(q));
      }
      if (req.method === 'GET' && path === '/v1/servicemap') {
        const w = new URL(req.url ?? '/', 'http://admin.invalid').searchParams.get('window') ?? '60';
        if (!/^\d{1,3}$/.test(w) || Number(w) < 10 || Number(w) > 600) return sendError(res, 400, 'BAD_REQUEST', `query parameter window: ${JSON.stringify(w.slice(0, 40))} is not a number of seconds from 10 to 600`);
        return sendJson(res, 200, await deps.serviceMap(Number(w) * 1000));
      }
      if (req.method === 'GET' && deps.dashboard.serve(path ?? '', res)) return;
      if (req.method === 'GET' && path === '/v1/health') {
        const h = deps.health();
        return sendJson(res, h.healthy ? 200 : 503, h);
      }
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        return void res.end(await deps.registry.metrics());
      }
      if (req.method !== 'POST') return sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${path}`);
      if (!authorized(req, deps.credential)) {
        deps.log.warn({ path, peer: req.socket.remoteAddress }, 'admin request without a valid credential');
        return sendError(res, 401, 'UNAUTHENTICATED', 'missing or wrong bearer credential (see <dataDir>/admin.token)');
      }
      if (path === '/v1/tokens') {
        const body = await readJsonObject(req);
        if (typeof body.node !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(body.node)) {
          return sendError(res, 400, 'BAD_REQUEST', 'node: expected a DNS label');
        }
        if (body.kind !== undefined && body.kind !== 'agent' && body.kind !== 'gateway') {
          return sendError(res, 400, 'BAD_REQUEST', `kind: ${JSON.stringify(body.kind)} is not a node kind; expected "agent" or "gateway"`);
        }
        const kind = body.kind ?? 'agent';
        const addresses = tokenAddresses(body.addresses);
        if (typeof addresses === 'string') return sendError(res, 400, 'BAD_REQUEST', addresses);
        const ttlMs = typeof body.ttl === 'string' ? parseDuration(body.ttl, 'ttl') : undefined;
        const t = await deps.createToken(body.node, kind, ttlMs, addresses);
        deps.log.info({ node: body.node, kind, addresses, expiresAt: t.expiresAt }, 'join token created');
        return sendJson(res, 200, { token: t.token, node: body.node, kind, addresses, expiresAt: t.expiresAt.toISOString() });
      }
      if (path === '/v1/resources/reload') return sendJson(res, 200, await deps.reloadResources());
      sendError(res, 404, 'NOT_FOUND', `no route for POST ${path}`);
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 400, 'BAD_REQUEST', describeError(err));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
