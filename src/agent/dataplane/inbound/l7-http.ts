// HTTP mode, for Service ports declared `protocol: http`: the CONNECT stream is
// accepted, HTTP/1.1 requests are parsed from it (a node http.Server fed the
// stream as a connection), and EVERY request's target is normalized, then
// authorized with its method and path, then forwarded as checked (normalized
// path + original query) to the app over a keep-alive pool, with the caller's
// identity in x-forwarded-client-cert and every caller-sent copy removed.
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import { headerSafe, type DataplaneContext } from '../dataplane-context.js';
import type { InboundDecision } from './decide.js';
import type { InboundCall } from './call.js';
import { appRequestHeaders, endToEndHeaders } from '../http-headers.js';
import { normalizeRequestTarget } from '../../../policy/request-path.js';
import { DuplexView } from './duplex-view.js';
import { fail, type Failure, type Outcome } from '../outcome.js';
import { inboundStatus, refuseRequest } from './respond.js';
import { publishInbound, type InboundFacts } from './observe.js';
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
    const view = new DuplexView(stream);
    this.connections.set(view, { call, target });
    this.live.add(stream);
    stream.once('close', () => {
      this.live.delete(stream);
      this.ctx.metrics.activeStreams.dec();
    });
    this.server.emit('connection', view);
    return { kind: 'done', status: 200, bytesOut: 0, bytesIn: 0, perRequestFlows: true };
  }

  /** Answers a refused request, drains its body and records it. */
  private refuse(res: ServerResponse, req: IncomingMessage, facts: InboundFacts, f: Failure): void {
    const status = inboundStatus(f.code);
    refuseRequest(res, status, f.reason);
    req.resume();
    publishInbound(this.tag, facts, { ...f, status }, this.ctx.now(), true);
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
    const { peer } = call;
    const method = req.method ?? 'GET';
    const facts = (path: string | undefined, policy?: string, rule?: number): InboundFacts => ({ peer, start, snapshot: call.snapshot, target, policy, rule, method, path });
    // Forward what is checked: an app routing on the raw target would serve "/admin/../charge" as /admin.
    const normalized = normalizeRequestTarget(req.url ?? '');
    if (!normalized.ok) {
      const rawPath = (req.url ?? '').split(/[?#]/, 1)[0];
      const reason = `request target ${JSON.stringify(headerSafe(req.url ?? '', 200))} refused: ${normalized.reason} (expected an origin-form path such as /orders/7?x=1)`;
      this.refuse(res, req, facts(rawPath), fail('bad_request_path', reason));
      return;
    }
    const path = normalized.path;
    let decision: ReturnType<DataplaneContext['state']['current']['authorizer']['authorize']>;
    try {
      decision = ctx.state.current.authorizer.authorize({ caller: peer.caller, callerRegion: target.callerRegion, service: target.service, port: target.servicePort, method, path });
    } catch (err) {
      this.refuse(res, req, facts(path), fail('authorizer_failed', `authorizer failed: ${describeError(err)}`));
      return;
    }
    if (decision.kind === 'deny') {
      this.refuse(res, req, facts(path, decision.policy, decision.rule), fail('policy_denied', decision.reason));
      return;
    }
    const { policy, rule } = decision;
    const slot = ctx.bulkhead.acquire(`${target.workload.namespace}/${target.workload.name}`);
    if (slot.kind === 'refuse') {
      this.refuse(res, req, facts(path, policy, rule), fail('workload_connection_limit', slot.reason));
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
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      slot.release();
      publishInbound(this.tag, facts(path, policy, rule), o, ctx.now(), true);
    };
    up.on('error', (err) => {
      const reason = `app at ${appAddress} failed: ${describeError(err)}`;
      const started = res.headersSent;
      if (!started) refuseRequest(res, 502, reason);
      else res.destroy();
      finish(fail('app_unreachable', reason, { status: 502, responseStarted: started, bytesOut, bytesIn }));
    });
    up.on('response', (ur) => {
      ur.on('data', (c: Buffer) => (bytesIn += c.length));
      ur.on('error', () => res.destroy());
      res.writeHead(ur.statusCode ?? 502, endToEndHeaders(ur.headers));
      ur.pipe(res);
      const done = (): void => finish({ kind: 'done', status: ur.statusCode ?? 0, bytesOut, bytesIn });
      res.on('finish', done);
      res.on('close', done);
    });
    req.on('data', (c: Buffer) => (bytesOut += c.length));
    req.pipe(up);
    res.on('close', () => {
      if (res.writableFinished) return;
      up.destroy();
      // A caller that leaves mid-request must not keep its slot.
      finish(fail('client_closed', 'caller closed before the response completed', { status: res.statusCode, bytesOut, bytesIn }));
    });
  }

  close(): void {
    for (const s of this.live) s.destroy();
    this.agent.destroy();
    this.server.close();
  }
}
