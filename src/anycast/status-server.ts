// The announcer's local HTTP endpoint: GET /status (JSON for `entente anycast
// status` and for the controller, which carries it in the region state it
// federates), GET /metrics (Prometheus) and GET /healthz.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type SocketAddress, formatSocketAddress } from '../core/address.js';
import { EntenteError } from '../core/errors.js';
import type { AnnouncerStatus } from './announcer.js';

export interface StatusDocument extends AnnouncerStatus {
  readonly version: 1;
  readonly localAs: number;
  readonly routerId: string;
  readonly now: number;
}

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatusServer(listen: SocketAddress, status: () => StatusDocument, registry: Registry): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status()));
    } else if (path === '/metrics') {
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), () => res.writeHead(500).end());
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /status or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new EntenteError('ANYCAST_STATUS_LISTEN', `cannot listen on ${formatSocketAddress(listen)} for the status endpoint: ${err.code ?? err.message}`, {
      hint: 'is another announcer running? set status.listen to a free address', cause: err,
    })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
