// The controller's admin API: plain HTTP, on loopback by default. Reads
// (status, health, metrics) are open to whoever can reach it; anything that
// changes state needs the bearer credential the controller wrote to
// <dataDir>/admin.token (0600) at start.
import { createServer, type Server, type IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { readJsonBody, sendError, sendJson } from '../core/http-json.js';
import { parseDuration } from '../core/duration.js';
import type { NodeKind } from './join-tokens.js';

export interface AdminApiDeps {
  readonly credential: string;
  readonly status: () => unknown;
  readonly health: () => { healthy: boolean } & Record<string, unknown>;
  readonly createToken: (node: string, kind: NodeKind, ttlMs: number | undefined) => { token: string; expiresAt: Date };
  readonly reloadResources: () => Promise<unknown>;
  readonly registry: Registry;
  readonly log: Logger;
}

function authorized(req: IncomingMessage, credential: string): boolean {
  const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const want = Buffer.from(credential);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function startAdminApi(deps: AdminApiDeps, listen: { host: string; port: number }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const handle = async (): Promise<void> => {
      if (req.method === 'GET' && path === '/v1/status') return sendJson(res, 200, deps.status());
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
        const body = (await readJsonBody(req)) as { node?: unknown; kind?: unknown; ttl?: unknown };
        if (typeof body.node !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(body.node)) {
          return sendError(res, 400, 'BAD_REQUEST', 'node: expected a DNS label');
        }
        const kind = body.kind === 'gateway' ? 'gateway' : 'agent';
        const ttlMs = typeof body.ttl === 'string' ? parseDuration(body.ttl, 'ttl') : undefined;
        const t = deps.createToken(body.node, kind, ttlMs);
        deps.log.info({ node: body.node, kind, expiresAt: t.expiresAt }, 'join token created');
        return sendJson(res, 200, { token: t.token, node: body.node, kind, expiresAt: t.expiresAt.toISOString() });
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
