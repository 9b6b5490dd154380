// Upstream apps for the protocol tests, each a real server on a given address:
// an h2c echo (node:http2), a gRPC Echo service (@grpc/grpc-js, test/protos/echo.proto)
// and a WebSocket echo (ws). Each answers with the x-forwarded-client-cert it saw,
// so tests can check the identity the agent set. Plus the matching gRPC client
// and a relay that gives a client's connections a caller's source address.
import { createServer as createH2Server, type Http2Server } from 'node:http2';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { WebSocket, WebSocketServer } from 'ws';

const PROTO = fileURLToPath(new URL('../../../test/protos/echo.proto', import.meta.url));

/** An h2c app: answers JSON {method, path, xfcc, body} with the trailer x-echo-trailer: done. */
export function startH2cEcho(host: string, port = 0): Promise<Http2Server> {
  const server = createH2Server();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      // A caller (or its agent, at a deadline) may have cancelled the stream meanwhile.
      if (stream.destroyed || stream.closed) return;
      const body = JSON.stringify({ method: headers[':method'], path: headers[':path'], xfcc: headers['x-forwarded-client-cert'], body: Buffer.concat(chunks).toString() });
      stream.respond({ ':status': 200, 'content-type': 'application/json' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-echo-trailer': 'done' }));
      stream.end(body);
    });
    stream.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

interface EchoRequest {
  text: string;
}
interface EchoReply {
  text: string;
  caller: string;
}

type EchoClient = grpc.Client & {
  Say(req: EchoRequest, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
  Count(req: { upTo: number }): grpc.ClientReadableStream<EchoReply>;
  Secret(req: EchoRequest, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
};

function echoDefinition(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, defaults: true }));
}

function echoService(): grpc.ServiceClientConstructor {
  return ((echoDefinition().entente as grpc.GrpcObject).test as grpc.GrpcObject).Echo as grpc.ServiceClientConstructor;
}

/** The gRPC app: Say echoes the text and the XFCC it saw; Count streams 1..upTo; Secret answers too (policies deny it). */
export async function startGrpcEcho(host: string, port = 0): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const xfcc = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): string => String(call.metadata.get('x-forwarded-client-cert')[0] ?? '');
  server.addService(echoService().service, {
    Say: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => cb(null, { text: call.request.text, caller: xfcc(call) }),
    Secret: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => cb(null, { text: 'the secret', caller: xfcc(call) }),
    Count: (call: grpc.ServerWritableStream<{ upTo: number }, EchoReply>) => {
      for (let i = 1; i <= call.request.upTo; i++) call.write({ text: String(i), caller: xfcc(call) });
      call.end();
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

/** A grpc-js client to `address` (host:port), its TCP connections made from `localAddress` (the caller's Workload address). */
export function grpcEchoClient(address: string, localAddress: string): EchoClient {
  const Echo = echoService();
  return new Echo(address, grpc.credentials.createInsecure(), { 'grpc.local_address': localAddress } as grpc.ClientOptions) as unknown as EchoClient;
}

/** One unary call (Say or Secret), settled as a value. */
export function unary(client: EchoClient, method: 'Say' | 'Secret', text: string): Promise<{ reply?: EchoReply; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    client[method]({ text }, (err, reply) => resolve(err ? { error: err } : { reply }));
  });
}

export function countAll(client: EchoClient, upTo: number): Promise<{ texts: string[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const texts: string[] = [];
    const s = client.Count({ upTo });
    s.on('data', (r: EchoReply) => texts.push(r.text));
    s.on('error', (error: grpc.ServiceError) => resolve({ texts, error }));
    s.on('end', () => resolve({ texts }));
  });
}

/** A WebSocket echo: every message comes back as "echo:<message>"; the first message is the XFCC it saw. */
export function startWsEcho(host: string, port = 0): Promise<{ http: HttpServer; wss: WebSocketServer }> {
  const http = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('websocket only\n'));
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws, req) => {
    ws.send(`xfcc:${String(req.headers['x-forwarded-client-cert'] ?? '')}`);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${String(data)}`));
  });
  return new Promise((resolve) => http.listen(port, host, () => resolve({ http, wss })));
}

/**
 * A TCP relay listening on `from` (port 0) whose connections reach `to` FROM
 * `from`. The agent names callers by source address, and neither grpc-js nor
 * libpq (psql) can bind a source address; this gives their connections the
 * caller Workload's address, bytes and half-closes unchanged.
 */
export function startSourceRelay(from: string, to: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer({ allowHalfOpen: true }, (client) => {
    const upstream = netConnect({ host: to.host, port: to.port, localAddress: from, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    pipeline(client, upstream, () => undefined);
    pipeline(upstream, client, () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, from, () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** The status a WebSocket upgrade gets: 101 when it opens, the refusal's status otherwise, -1 when the connection failed. */
export async function upgradeStatus(url: string, localAddress: string): Promise<number> {
  const ws = new WebSocket(url, { localAddress });
  const status = await new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => resolve(101));
    ws.once('error', () => resolve(-1));
  });
  ws.terminate();
  return status;
}
