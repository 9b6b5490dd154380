// HTTP mode, for Service ports declared `protocol: http`: the CONNECT stream is
// accepted, HTTP/1.1 requests are parsed from it (a node http.Server fed the
// stream as a connection), and EVERY request's target is normalized, then
// authorized with its method and path, then forwarded as checked (normalized
// path + original query) to the app over a keep-alive pool, with the caller's
// identity in x-forwarded-client-cert and every caller-sent copy removed.
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.js';
import { formatSocketAddress } from '../../core/address.js';
import { headerSafe, type DataplaneContext } from './dataplane-context.js';
import type { InboundDecision, InboundPeer } from './inbound-decide.js';
import { recordInbound } from './inbound-record.js';
import { DENY_REASON_HEADER } from './mesh-connector.js';
import { appRequestHeaders, endToEndHeaders } from './l7-headers.js';
import { normalizeRequestTarget } from '../../policy/request-path.js';
import { DuplexView } from './duplex-view.js';
// h-proto: protocol dispatch (HTTP/2, WebSocket, http2 ports) lives in these files.
import { sniffHttpProtocol } from './inbound-l7-sniff.js';
import { InboundH2 } from './inbound-h2.js';
import { InboundUpgrade } from './inbound-upgrade.js';
import { refuseHttp1OnHttp2Port } from './inbound-l7-dispatch.js';

type L7Target = Extract<InboundDecision, { kind: 'l7' }>;

interface L7Connection {
  readonly peer: InboundPeer;
  readonly target: L7Target;
}

export class InboundL7 {
  private readonly connections = new WeakMap<Duplex, L7Connection>();
  private readonly live = new Set<Duplex>();
  private readonly agent: Agent;
  private readonly server = createServer({ keepAlive: true }, (req, res) => this.onRequest(req, res));
  private readonly h2: InboundH2;
  private readonly upgrades: InboundUpgrade;

  constructor(private readonly ctx: DataplaneContext) {
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
    // h-proto dispatch hook: h2c callers and Upgrade requests (WebSocket) are served by their own modules.
    this.h2 = new InboundH2(ctx, this.agent);
    this.upgrades = new InboundUpgrade(ctx, this.agent);
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const conn = this.connections.get(socket);
      if (conn) this.upgrades.handle(req, socket, head, conn.peer, conn.target);
      else socket.destroy();
    });
  }

  /** Takes over a stream to a port declared `protocol: http`. */
  accept(stream: ServerHttp2Stream, peer: InboundPeer, target: L7Target, _start: number): void {
    try {
      stream.respond({ ':status': 200 });
    } catch {
      return;
    }
    this.ctx.metrics.activeStreams.inc();
    this.ctx.metrics.streams.inc({ direction: 'inbound', verdict: 'allow' });
    this.live.add(stream);
    stream.once('close', () => {
      this.live.delete(stream);
      this.ctx.metrics.activeStreams.dec();
    });
    // h-proto dispatch hook: the first bytes say HTTP/2 (h2c preface) or HTTP/1.x; http2 ports take HTTP/2 only.
    sniffHttpProtocol(stream, (protocol) => {
      const view = new DuplexView(stream);
      if (protocol === 'h2') this.h2.accept(view, peer, target);
      else if (target.protocol === 'http2') refuseHttp1OnHttp2Port(this.ctx, view, peer, target);
      else {
        this.connections.set(view, { peer, target });
        this.server.emit('connection', view);
      }
    });
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
    const { peer, target } = conn;
    const method = req.method ?? 'GET';
    // Forward what is checked: an app routing on the raw target would serve "/admin/../charge" as /admin.
    const normalized = normalizeRequestTarget(req.url ?? '');
    if (!normalized.ok) {
      const rawPath = (req.url ?? '').split(/[?#]/, 1)[0];
      const reason = `request target ${JSON.stringify(headerSafe(req.url ?? '', 200))} refused: ${normalized.reason} (expected an origin-form path such as /orders/7?x=1)`;
      const body = `entente: ${reason}\n`;
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(reason) });
      res.end(body);
      req.resume();
      ctx.metrics.inboundRefusals.inc({ reason: 'bad_request_path' });
      recordInbound(ctx, peer, start, { verdict: 'deny', target, reason, method, path: rawPath, status: 400, bytesOut: 0, bytesIn: 0 }, true);
      return;
    }
    const path = normalized.path;
    let decision: ReturnType<DataplaneContext['state']['current']['authorizer']['authorize']>;
    try {
      decision = ctx.state.current.authorizer.authorize({ caller: peer.caller, callerRegion: target.callerRegion, service: target.service, port: target.servicePort, method, path });
    } catch (err) {
      decision = { kind: 'deny', reason: `authorizer failed: ${describeError(err)}` };
    }
    if (decision.kind === 'deny') {
      ctx.metrics.inboundRefusals.inc({ reason: 'policy_denied' });
      const body = `denied by policy: ${decision.reason}\n`;
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(decision.reason) });
      res.end(body);
      req.resume();
      recordInbound(ctx, peer, start, { verdict: 'deny', target, policy: decision.policy, rule: decision.rule, reason: decision.reason, method, path, status: 403, bytesOut: 0, bytesIn: 0 }, true);
      return;
    }
    const { policy, rule } = decision;
    const slot = ctx.bulkhead.acquire(`${target.workload.namespace}/${target.workload.name}`);
    if (slot.kind === 'refuse') {
      ctx.metrics.refusedStreams.inc({ reason: 'workload_connection_limit' });
      const body = `entente: ${slot.reason}\n`;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(slot.reason) });
      res.end(body);
      req.resume();
      recordInbound(ctx, peer, start, { verdict: 'error', refusal: 'workload_connection_limit', target, policy, rule, reason: slot.reason, method, path, status: 503, bytesOut: 0, bytesIn: 0 }, true);
      return;
    }
    let bytesOut = 0;
    let bytesIn = 0;
    const appAddress = formatSocketAddress({ host: target.workload.address, port: target.port });
    const up = request({
      host: target.workload.address,
      port: target.port,
      method,
      path: normalized.target,
      headers: appRequestHeaders(req.headers, target.workload.spiffeId.toString(), peer.caller.toString()),
      agent: this.agent,
      setHost: false,
    });
    let done = false;
    const finish = (status: number, verdict: 'allow' | 'error', reason?: string): void => {
      if (done) return;
      done = true;
      slot.release();
      recordInbound(ctx, peer, start, { verdict, target, policy, rule, reason, method, path, status, bytesOut, bytesIn }, true);
    };
    up.on('error', (err) => {
      const reason = `app at ${appAddress} failed: ${describeError(err)}`;
      if (!res.headersSent) {
        const body = `entente: ${reason}\n`;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      } else {
        res.destroy();
      }
      finish(502, 'error', reason);
    });
    up.on('response', (ur) => {
      ur.on('data', (c: Buffer) => (bytesIn += c.length));
      ur.on('error', () => res.destroy());
      res.writeHead(ur.statusCode ?? 502, endToEndHeaders(ur.headers));
      ur.pipe(res);
      res.on('finish', () => finish(ur.statusCode ?? 0, 'allow'));
      res.on('close', () => finish(ur.statusCode ?? 0, 'allow'));
    });
    req.on('data', (c: Buffer) => (bytesOut += c.length));
    req.pipe(up);
    res.on('close', () => {
      if (res.writableFinished) return;
      up.destroy();
      // A caller that leaves mid-request must not keep its slot.
      finish(res.statusCode, 'error', 'caller closed before the response completed');
    });
  }

  close(): void {
    this.h2.close();
    for (const s of this.live) s.destroy();
    this.agent.destroy();
    this.server.close();
  }
}
