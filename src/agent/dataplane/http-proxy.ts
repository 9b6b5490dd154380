// The HTTP proxy port for local apps: `CONNECT host:port` tunnels (answered
// 200 only once the destination agent accepted the stream; a remote 403
// becomes a 403 with the reason) and absolute-URI requests
// (`GET http://catalog.shop.mesh/x`), each forwarded over its own CONNECT
// stream. Mesh hosts only; anything else gets a 502 that says why. The caller
// is admitted per request from the connection's attestation, which is looked
// up once per connection (keep-alive requests reuse it).
import { createServer, request, STATUS_CODES, type IncomingMessage, type ServerResponse, type RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.js';
import { parseSocketAddress, type SocketAddress } from '../../core/address.js';
import { headerSafe, type DataplaneContext } from './dataplane-context.js';
import { connectAnswer, recordOutbound, DENY_REASON_HEADER, type MeshConnector } from './mesh-connector.js';
import { carry, prepareOutbound } from './outbound-connection.js';
import { admitCaller } from './admit-caller.js';
import { endToEndHeaders } from './l7-headers.js';
import { closeServer, listenOn } from './listen.js';

export interface HttpProxy {
  readonly address: SocketAddress;
  close(): Promise<void>;
}

function refusalBody(status: number, reason: string): string {
  return status === 403 ? `denied by policy: ${reason}\n` : `entente: ${reason}\n`;
}

/** A complete HTTP/1.1 refusal written on a raw (CONNECT) socket, then closed. */
function refuseRaw(socket: Duplex, status: number, reason: string): void {
  const body = refusalBody(status, reason);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `${DENY_REASON_HEADER}: ${headerSafe(reason)}`,
    'connection: close',
  ].join('\r\n');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Drain what the client still sends (unread bytes would turn our close into a
  // reset that can eat the answer), and close once the answer is flushed.
  socket.resume();
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}

function refuseResponse(res: ServerResponse, status: number, reason: string, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = refusalBody(status, reason);
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [DENY_REASON_HEADER]: headerSafe(reason),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

export async function startHttpProxy(ctx: DataplaneContext, connector: MeshConnector, listen: SocketAddress): Promise<HttpProxy> {
  const sockets = new Set<Duplex>();

  const onConnect = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => undefined);
    // The HTTP server let go of the socket; hold its bytes until the tunnel is spliced.
    socket.pause();
    const requestBytes = (socket as Socket).bytesRead - head.length;
    let target: SocketAddress;
    try {
      target = parseSocketAddress(req.url ?? '', 'CONNECT target', false);
    } catch (err) {
      refuseRaw(socket, 400, describeError(err));
      return;
    }
    const snapshot = ctx.state.current;
    // The tunnel's bytes stay paused until the caller is admitted.
    const caller = await admitCaller(ctx, snapshot, socket as Socket);
    const prep = prepareOutbound(ctx, snapshot, caller, target.host, target.port);
    if (prep.kind === 'refuse') {
      refuseRaw(socket, prep.status, prep.reason);
      return;
    }
    const { call } = prep;
    const opened = await connector.open(snapshot, call);
    if (opened.kind === 'error') {
      refuseRaw(socket, 502, opened.reason);
      recordOutbound(ctx, snapshot, call, { verdict: 'error', reason: opened.reason, bytesIn: 0, bytesOut: 0 });
      return;
    }
    const { stream, endpoint } = opened;
    const answer = await connectAnswer(stream);
    if (answer.status !== 200 || socket.destroyed) {
      const status = answer.status === 403 ? 403 : 502;
      const reason = answer.reason ?? (socket.destroyed ? 'client went away' : `destination answered ${answer.status}`);
      refuseRaw(socket, status, reason);
      if (!stream.destroyed) stream.close();
      recordOutbound(ctx, snapshot, call, { endpoint, verdict: status === 403 ? 'deny' : 'error', status: answer.status, reason, bytesIn: 0, bytesOut: 0 });
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) stream.write(head);
    carry(ctx, snapshot, call, socket as Socket, stream, endpoint, Promise.resolve(answer), { read: requestBytes, written: (socket as Socket).bytesWritten });
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    let url: URL | undefined;
    try {
      url = /^http:\/\//i.test(req.url ?? '') ? new URL(req.url ?? '') : undefined;
    } catch {
      url = undefined;
    }
    if (!url) {
      refuseResponse(res, 400, 'this is the Entente mesh proxy: send absolute-URI requests (http://<service>.<namespace>.mesh/...) or CONNECT host:port');
      return;
    }
    const host = url.hostname;
    const port = url.port ? Number(url.port) : 80;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const snapshot = ctx.state.current;
    const caller = await admitCaller(ctx, snapshot, req.socket);
    const prep = prepareOutbound(ctx, snapshot, caller, host, port);
    if (prep.kind === 'refuse') {
      // A process that failed attestation fails it on every request: end its connection.
      refuseResponse(res, prep.status, prep.reason, caller.kind === 'refuse');
      return;
    }
    const { call } = prep;
    const opened = await connector.open(snapshot, call);
    if (opened.kind === 'error') {
      refuseResponse(res, 502, opened.reason);
      recordOutbound(ctx, snapshot, call, { verdict: 'error', reason: opened.reason, method, path, bytesIn: 0, bytesOut: 0 });
      return;
    }
    const { stream, endpoint } = opened;
    // The request goes out right behind the CONNECT headers: no round trip
    // waiting for the destination's answer. A 200 is followed by the app's
    // response on the same stream; a refusal ends the stream, which fails the
    // request, and the app then gets the destination's status and reason.
    const answer = connectAnswer(stream);
    const headers = endToEndHeaders(req.headers);
    headers.connection = 'close';
    let bytesOut = 0;
    let bytesIn = 0;
    let status = 0;
    let recorded = false;
    const finish = (verdict: 'allow' | 'deny' | 'error', reason?: string): void => {
      if (recorded) return;
      recorded = true;
      recordOutbound(ctx, snapshot, call, { endpoint, verdict, status, reason, method, path, bytesOut, bytesIn });
    };
    const createConnection = (() => stream) as unknown as RequestOptions['createConnection'];
    const up = request({ method, path: `${url.pathname}${url.search}`, headers, setHost: false, createConnection });
    up.on('error', (err) => {
      if (!stream.destroyed) stream.destroy();
      void answer.then((a) => {
        if (a.status !== 200 && a.status !== 0) {
          status = a.status === 403 ? 403 : 502;
          const reason = a.reason ?? `destination answered ${a.status}`;
          refuseResponse(res, status, reason);
          finish(status === 403 ? 'deny' : 'error', reason);
          return;
        }
        const reason = `${host}: ${a.status === 0 && a.reason ? a.reason : describeError(err)}`;
        status = 502;
        refuseResponse(res, 502, reason);
        finish('error', reason);
      });
    });
    up.on('response', (ur) => {
      status = ur.statusCode ?? 0;
      ur.on('data', (c: Buffer) => (bytesIn += c.length));
      ur.on('error', () => res.destroy());
      res.writeHead(status, endToEndHeaders(ur.headers));
      ur.pipe(res);
      res.on('close', () => finish('allow'));
    });
    req.on('data', (c: Buffer) => (bytesOut += c.length));
    req.pipe(up);
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
  };

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
