// HTTP mode over a CONNECT stream, for Service ports declared `protocol:
// http` that a caller reaches as bytes (a per-service port, CONNECT): the
// stream is accepted, HTTP/1.1 requests are parsed from it (a node
// http.Server fed the stream as a connection), and each one is forwarded by
// l7-forward.ts and recorded as its own flow.
import { createServer, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../core/errors.js';
import type { DataplaneContext } from '../dataplane-context.js';
import type { InboundDecision } from './decide.js';
import type { L7RequestDecision } from './decide-layer.js';
import { sniffHttpProtocol } from './l7-sniff.js';
import { InboundH2 } from './h2c-server.js';
import { InboundUpgrade } from './l7-upgrade.js';
import { refuseHttp1OnHttp2Port } from './l7-dispatch.js';
import type { InboundCall } from './call.js';
import { DuplexView } from './duplex-view.js';
import { fail, type Outcome } from '../outcome.js';
import { publishInbound, type InboundFacts } from './observe.js';
import { continueTrace } from '../observe/tracing.js';
import { forwardL7, type L7Exchange } from './l7-forward.js';
import type { DataplaneTag } from '../observe/flow-events.js';

type L7Target = Extract<InboundDecision, { kind: 'l7' }>;

interface L7Connection {
  readonly call: InboundCall;
  readonly target: L7Target;
}

export class InboundL7 {
  private readonly connections = new WeakMap<Duplex, L7Connection>();
  private readonly live = new Set<Duplex>();
  private readonly agent: Agent;
  private readonly server = createServer({ keepAlive: true }, (req, res) => this.onRequest(req, res));
  /** HTTP/2 callers (h2c inside a stream, or requests straight on the mesh session) and h2c apps. */
  private readonly h2: InboundH2;
  /** Upgrade requests (WebSocket) on HTTP/1.1 streams. */
  private readonly upgrades: InboundUpgrade;

  constructor(private readonly ctx: DataplaneContext, private readonly tag: DataplaneTag) {
    // The bulkhead admits at most maxConnectionsPerWorkload requests per workload, each on its own socket;
    // maxSockets is the backstop so the pooled agent never opens more than that per app address.
    this.agent = new Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 60_000, maxSockets: ctx.tuning.maxConnectionsPerWorkload });
    // A caller that half-closes after its request still gets the response (as over plain TCP).
    (this.server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    this.server.on('clientError', (err, socket) => {
      ctx.log.debug({ err: describeError(err) }, 'malformed HTTP on an L7 stream');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.h2 = new InboundH2(ctx, this.agent);
    this.upgrades = new InboundUpgrade(ctx, this.agent);
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const conn = this.connections.get(socket);
      if (conn) this.upgrades.handle(req, socket, head, conn.call.peer, conn.target);
      else socket.destroy();
    });
  }

  /** Takes over a stream to a port declared `protocol: http`; its requests are recorded one by one. */
  accept(call: InboundCall, target: L7Target): Outcome {
    const { stream } = call;
    try {
      stream.respond({ ':status': 200 });
    } catch {
      return fail('client_closed', 'the stream closed before it was accepted');
    }
    this.ctx.metrics.activeStreams.inc();
    this.ctx.metrics.streams.inc({ direction: 'inbound', verdict: 'allow' });
    this.live.add(stream);
    stream.once('close', () => {
      this.live.delete(stream);
      this.ctx.metrics.activeStreams.dec();
    });
    // The first bytes say HTTP/2 (the h2c preface) or HTTP/1.x; http2 ports take HTTP/2 only.
    sniffHttpProtocol(stream, (protocol) => {
      const view = new DuplexView(stream);
      if (protocol === 'h2') this.h2.accept(view, call.peer, target);
      else if (target.protocol === 'http2') refuseHttp1OnHttp2Port(this.ctx, view, call.peer, target);
      else {
        this.connections.set(view, { call, target });
        this.server.emit('connection', view);
      }
    });
    return { kind: 'done', status: 200, bytesOut: 0, bytesIn: 0, perRequestFlows: true };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const ctx = this.ctx;
    const start = ctx.now();
    const conn = this.connections.get(req.socket);
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    if (!conn) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('entente: request on an unknown stream\n');
      return;
    }
    const { call, target } = conn;
    const method = req.method ?? 'GET';
    // Our span becomes the parent the app sees.
    const trace = continueTrace(ctx.tracing, req.headers);
    void forwardL7(ctx, this.agent, call.peer, target, http1Exchange(req, res)).then((r) => {
      const facts: InboundFacts = { peer: call.peer, start, snapshot: call.snapshot, target, policy: r.policy, rule: r.rule, method, path: r.path, trace };
      publishInbound(this.tag, facts, r.outcome, ctx.now(), true);
    });
  }

  /** One HTTP/2 request on the mesh session to an http or http2 port: served and recorded by the HTTP/2 handler. */
  request(call: InboundCall, target: L7RequestDecision): Outcome {
    this.h2.serve(call.stream, call.headers, call.flags, call.peer, target, call.start);
    return { kind: 'done', status: 0, bytesOut: 0, bytesIn: 0, perRequestFlows: true };
  }

  close(): void {
    this.h2.close();
    for (const s of this.live) s.destroy();
    this.agent.destroy();
    this.server.close();
  }
}

/** An HTTP/1.1 request and its response as the forwarder sees them. */
function http1Exchange(req: IncomingMessage, res: ServerResponse): L7Exchange {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '',
    headers: req.headers,
    body: req,
    headersSent: () => res.headersSent,
    head: (status, headers) => void res.writeHead(status, headers),
    response: res,
    abort: () => res.destroy(),
    onClose: (fn) => {
      res.once('close', () => fn(res.writableFinished));
    },
  };
}
