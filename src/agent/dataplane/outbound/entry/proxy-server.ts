// The HTTP proxy port for local apps: an HTTP/1.1 server whose CONNECT
// requests go to the http-connect entry and whose absolute-URI requests go to
// the absolute-uri entry. Mesh hosts only; anything else gets a status that
// says why. The caller is admitted per request from the connection's
// attestation, looked up once per connection (keep-alive requests reuse it).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../../core/errors.js';
import type { SocketAddress } from '../../../../core/address.js';
import type { DataplaneContext } from '../../dataplane-context.js';
import type { Service } from '../../stack.js';
import type { OutboundCall } from '../call.js';
import { closeServer, listenOn } from '../../listen.js';
import { httpConnectEntry } from './http-connect.js';
import { absoluteUriEntry } from './absolute-uri.js';

export interface HttpProxy {
  readonly address: SocketAddress;
  close(): Promise<void>;
}

export async function startHttpProxy(ctx: DataplaneContext, outbound: Service<OutboundCall>, listen: SocketAddress): Promise<HttpProxy> {
  const sockets = new Set<Duplex>();
  const onConnect = httpConnectEntry(ctx, outbound);
  const onRequest = absoluteUriEntry(ctx, outbound);

  const server = createServer({ keepAlive: true, noDelay: true });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onConnect(req, socket, head).catch((err: unknown) => {
      ctx.log.error({ err: describeError(err) }, 'http proxy CONNECT failed unexpectedly');
      socket.destroy();
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err: unknown) => {
      ctx.log.error({ err: describeError(err) }, 'http proxy request failed unexpectedly');
      res.destroy();
    });
  });
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const address = await listenOn(server, listen, 'the HTTP proxy');
  return {
    address,
    async close() {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}
