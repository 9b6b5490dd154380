// HTTP/1.1 Upgrade requests in HTTP mode. A WebSocket handshake is a GET and
// is gated like any request (normalize, authorize method + path, bulkhead);
// when allowed, the app gets the checked request head with our identity
// header, and after its 101 the bytes are spliced both ways for the life of
// the WebSocket (one bulkhead slot, one flow record). Any other upgrade
// (h2c, TLS...) is never passed on: a switch would carry requests the agent
// cannot authorize, so such a request is served as a plain one.
import { request, type Agent, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import type { DataplaneContext } from '../dataplane-context.js';
import type { InboundPeer } from './decide.js';
import { recordInbound } from './observe.js';
import { appRequestHeaders, appResponseHeaders } from '../http-headers.js';
import { gateL7Request, type L7Target } from './l7-gate.js';
import { endWithRefusal, http1Head } from './raw-http1-response.js';
import { splice } from '../splice.js';

/** Pure: a WebSocket handshake, or another upgrade, and whether its body (never parsed after an upgrade) is empty. */
export function classifyUpgrade(headers: IncomingMessage['headers']): { kind: 'websocket' | 'other'; bodyless: boolean } {
  const token = String(headers.upgrade ?? '').split(',', 1)[0]!.trim().toLowerCase();
  const length = headers['content-length'];
  const bodyless = headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0);
  return { kind: token === 'websocket' ? 'websocket' : 'other', bodyless };
}

export class InboundUpgrade {
  constructor(private readonly ctx: DataplaneContext, private readonly h1Agent: Agent) {}

  /** `socket` is the caller's connection, let go of by the HTTP server; `head` the bytes read past the request head. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, peer: InboundPeer, target: L7Target): void {
    const ctx = this.ctx;
    const start = ctx.now();
    const method = req.method ?? 'GET';
    socket.on('error', (err) => ctx.log.debug({ err: describeError(err) }, 'upgrade connection error'));
    const { kind, bodyless } = classifyUpgrade(req.headers);
    if (kind === 'other' && !bodyless) {
      const reason = `Upgrade: ${String(req.headers.upgrade)} with a request body is not served on an HTTP port (only WebSocket upgrades are passed on; send the request without Upgrade)`;
      endWithRefusal(socket, 501, reason);
      recordInbound(ctx, peer, start, { verdict: 'deny', code: 'bad_request_path', target, reason, method, path: (req.url ?? '').split(/[?#]/, 1)[0], status: 501, bytesOut: 0, bytesIn: 0 });
      return;
    }
    const gate = gateL7Request(ctx, peer, target, method, req.url ?? '');
    if (gate.kind === 'refuse') {
      endWithRefusal(socket, gate.status, gate.reason, gate.body);
      recordInbound(ctx, peer, start, { verdict: gate.verdict, code: gate.code, target, policy: gate.policy, rule: gate.rule, reason: gate.reason, method, path: gate.path, status: gate.status, bytesOut: 0, bytesIn: 0 });
      return;
    }
    const appAddress = formatSocketAddress({ host: target.workload.address, port: target.port });
    const headers = appRequestHeaders(req.headers, target.workload.spiffeId.toString(), peer.caller.toString());
    if (kind === 'websocket') Object.assign(headers, { connection: 'Upgrade', upgrade: req.headers.upgrade });
    const up = request({
      host: target.workload.address,
      port: target.port,
      method,
      path: gate.target,
      headers,
      // A WebSocket owns its app connection for life: it never goes back to the keep-alive pool.
      agent: kind === 'websocket' ? false : this.h1Agent,
      setHost: false,
    });
    let done = false;
    let upgraded = false;
    const finish = (verdict: 'allow' | 'error', status: number, bytesOut: number, bytesIn: number, reason?: string): void => {
      if (done) return;
      done = true;
      gate.release();
      recordInbound(ctx, peer, start, { verdict, code: verdict === 'error' ? (status === 502 ? 'app_unreachable' : 'reset') : undefined, target, policy: gate.policy, rule: gate.rule, reason, method, path: gate.path, status, bytesOut, bytesIn });
    };
    up.on('error', (err) => {
      const reason = `app at ${appAddress} failed: ${describeError(err)}`;
      endWithRefusal(socket, 502, reason);
      finish('error', 502, 0, 0, reason);
    });
    up.on('upgrade', (res: IncomingMessage, app: Socket, appHead: Buffer) => {
      upgraded = true;
      socket.write(http1Head(101, res.headers, res.statusMessage));
      if (appHead.length > 0) socket.write(appHead);
      if (head.length > 0) app.write(head);
      app.setNoDelay(true);
      splice(socket, app, (err) => {
        if (err) ctx.log.debug({ err: describeError(err), app: appAddress }, 'WebSocket ended with an error');
        finish('allow', 101, app.bytesWritten, app.bytesRead);
      });
    });
    up.on('response', (res: IncomingMessage) => {
      // No switch (the app refused the upgrade, or it was not a WebSocket): relay the answer, then close,
      // so no later request on this connection reaches the app unchecked.
      let bytesIn = 0;
      res.on('data', (c: Buffer) => (bytesIn += c.length));
      res.on('error', () => socket.destroy());
      socket.write(http1Head(res.statusCode ?? 502, { ...appResponseHeaders(res.headers), connection: 'close' }, res.statusMessage));
      res.pipe(socket);
      res.on('end', () => finish('allow', res.statusCode ?? 0, 0, bytesIn));
    });
    socket.once('close', () => {
      if (done || upgraded) return;
      up.destroy();
      finish('error', 499, 0, 0, 'caller closed before the response completed');
    });
    up.end();
  }
}
