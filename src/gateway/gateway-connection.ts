// One client connection through the gateway, in named phases: read the
// ClientHello → decide the route → connect upstream → splice bytes both ways.
// Each phase maps its failure to one counted result; nothing here throws.
import { connect as netConnect, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';
import { parseClientHello, type ClientHelloParse } from './client-hello.js';
import { decideRoute, tlsAlertRecord, type GatewayResult, type GatewayRoutes, type Refusal } from './route-decision.js';
import { parsePreamble, probeAnswer, relayLine } from './preamble.js';
import type { GatewayMetrics, Direction } from './gateway-metrics.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';

export interface ConnectionLimits {
  readonly clientHelloTimeoutMs: number;
  readonly maxClientHelloBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  /** How long a refused client may take to read our alert and close before we drop it. */
  readonly refusalLingerMs: number;
}

export interface ConnectionContext {
  /** This gateway's region: the answer to a probe, and the marker on what it relays. */
  readonly region: string;
  readonly routes: GatewayRoutes;
  readonly limits: ConnectionLimits;
  readonly metrics: GatewayMetrics;
  readonly refusals: RateLimitedLog;
  readonly log: Logger;
  /** Called once per connection with its result, for the gateway's own stats. */
  readonly count: (result: GatewayResult) => void;
  readonly countBytes: (direction: Direction, n: number) => void;
  /** Every socket the connection opens is registered so close() can destroy it. */
  readonly track: (s: Socket) => void;
}

type HelloOutcome =
  /** `relayedFrom`: the connection came with a relay marker from that region's gateway (stripped from `bytes`). */
  | { kind: 'hello'; parse: Exclude<ClientHelloParse, { kind: 'incomplete' }>; bytes: Buffer; relayedFrom?: string }
  | { kind: 'probe'; nonce: string }
  | { kind: 'bad_preamble'; reason: string }
  | { kind: 'timeout'; received: number }
  | { kind: 'aborted'; reason: string };

type UpstreamOutcome = { kind: 'connected'; socket: Socket } | { kind: 'failed'; reason: string };

/** Serves one accepted client socket to completion; never rejects. */
export async function serveConnection(client: Socket, ctx: ConnectionContext): Promise<void> {
  const peer = `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}`;
  // Errors are observed by the phase that is running; this keeps a late one from crashing the process.
  client.on('error', () => undefined);
  try {
    const hello = await readClientHello(client, ctx.limits);
    if (hello.kind === 'aborted') return aborted(client, ctx, peer, hello.reason);
    if (hello.kind === 'probe') return answerProbe(client, ctx, hello.nonce);
    if (hello.kind === 'bad_preamble') return refuse(client, ctx, peer, { kind: 'refuse', result: 'not_tls', reason: hello.reason });
    if (hello.kind === 'timeout') {
      return refuse(client, ctx, peer, {
        kind: 'refuse', result: 'timeout', reason: `no complete ClientHello within ${ctx.limits.clientHelloTimeoutMs} ms (${hello.received} bytes received)`,
      });
    }
    const decision = decideRoute(hello.parse, ctx.routes, hello.relayedFrom);
    if (decision.kind === 'refuse') return refuse(client, ctx, peer, decision);

    const up = await connectUpstream(decision.target, ctx);
    if (up.kind === 'failed') {
      const what = decision.kind === 'relay' ? `gateway ${formatSocketAddress(decision.target)} of ${decision.region}` : `agent ${formatSocketAddress(decision.target)}`;
      return refuse(client, ctx, peer, {
        kind: 'refuse', result: 'upstream_unreachable', serverName: decision.serverName, alert: 'internal_error',
        reason: `${what} for "${decision.serverName}" unreachable: ${up.reason}`,
      });
    }
    if (client.destroyed) {
      up.socket.destroy();
      return aborted(client, ctx, peer, 'client went away while the gateway connected upstream');
    }
    if (decision.kind === 'relay') {
      ctx.count('relayed');
      ctx.log.debug({ peer, serverName: decision.serverName, region: decision.region, upstream: formatSocketAddress(decision.target) }, 'gateway: relayed');
      // The next gateway must know this was relayed, so that it routes to its own agents only.
      splice(client, up.socket, Buffer.concat([Buffer.from(relayLine(ctx.region), 'latin1'), hello.bytes]), ctx);
      return;
    }
    ctx.count('routed');
    ctx.log.debug({ peer, serverName: decision.serverName, upstream: formatSocketAddress(decision.target), ...(hello.relayedFrom ? { relayedFrom: hello.relayedFrom } : {}) }, 'gateway: routed');
    splice(client, up.socket, hello.bytes, ctx);
  } catch (err) {
    // Unreachable by design; if it happens, lose this one connection, never the process.
    ctx.log.error({ peer, err: describeError(err) }, 'gateway: unexpected error serving a connection');
    client.destroy();
  }
}

/** Phase 1: buffer bytes until the ClientHello parse is final, the timer fires, or the client leaves. */
function readClientHello(client: Socket, limits: ConnectionLimits): Promise<HelloOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let needAtLeast = 1;
    // Until the first bytes say otherwise, they may be a probe or a relay marker (preamble.ts).
    let preambleRead = false;
    let relayedFrom: string | undefined;
    const finish = (outcome: HelloOutcome): void => {
      clearTimeout(timer);
      client.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError);
      client.pause(); // later bytes stay queued in the socket for the splice
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      // Re-parse only when the parser said the answer could change: no quadratic work on 1-byte segments.
      if (received < needAtLeast) return;
      let bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      chunks.length = 0;
      if (!preambleRead) {
        const p = parsePreamble(bytes);
        if (p.kind === 'incomplete') {
          chunks.push(bytes);
          needAtLeast = received + 1;
          return;
        }
        if (p.kind === 'probe') return finish({ kind: 'probe', nonce: p.nonce });
        if (p.kind === 'invalid') return finish({ kind: 'bad_preamble', reason: p.reason });
        preambleRead = true;
        if (p.kind === 'relay') {
          relayedFrom = p.from;
          bytes = bytes.subarray(p.length);
          received = bytes.length;
          needAtLeast = 1;
          if (received === 0) return;
        }
      }
      chunks.push(bytes);
      const parse = parseClientHello(bytes, { maxBytes: limits.maxClientHelloBytes });
      if (parse.kind === 'incomplete') needAtLeast = parse.needAtLeast;
      else finish({ kind: 'hello', parse, bytes, ...(relayedFrom !== undefined ? { relayedFrom } : {}) });
    };
    const onEnd = (): void => finish({ kind: 'aborted', reason: `client closed after ${received} bytes, before completing a ClientHello` });
    const onClose = (): void => finish({ kind: 'aborted', reason: 'connection closed before a ClientHello' });
    const onError = (err: Error): void => finish({ kind: 'aborted', reason: `client socket error: ${err.message}` });
    const timer = setTimeout(() => finish({ kind: 'timeout', received }), limits.clientHelloTimeoutMs);
    client.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onError);
  });
}

/** Phase 3: a TCP connection to the destination agent, bounded in time. */
function connectUpstream(target: SocketAddress, ctx: ConnectionContext): Promise<UpstreamOutcome> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
    socket.on('error', () => undefined); // observed below while connecting, by pipeline() once spliced
    ctx.track(socket);
    const done = (outcome: UpstreamOutcome): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect).off('error', onError);
      if (outcome.kind === 'failed') socket.destroy();
      resolve(outcome);
    };
    const onConnect = (): void => done({ kind: 'connected', socket });
    const onError = (err: Error): void => done({ kind: 'failed', reason: describeError(err) });
    const timer = setTimeout(() => done({ kind: 'failed', reason: `connect timed out after ${ctx.limits.upstreamConnectTimeoutMs} ms` }),
      ctx.limits.upstreamConnectTimeoutMs);
    socket.on('connect', onConnect).on('error', onError);
  });
}

/**
 * Phase 4: forward the buffered hello, then copy both ways. pipeline() gives
 * backpressure (a slow reader pauses the other side), passes half-close on
 * (end → end, so a client that finished sending still gets its response), and
 * destroys both sockets when either fails or closes abruptly.
 */
function splice(client: Socket, upstream: Socket, hello: Buffer, ctx: ConnectionContext): void {
  for (const s of [client, upstream]) {
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
  }
  upstream.write(hello);
  countBytes(ctx, 'client_to_upstream', hello.length);
  const ended = (err: Error | null | undefined): void => {
    if (err) { client.destroy(); upstream.destroy(); }
  };
  pipeline(client, upstream, ended);
  pipeline(upstream, client, ended);
  // Listeners added after pipeline() so no chunk is seen by the counter but missed by the pipe.
  client.on('data', (d: Buffer) => countBytes(ctx, 'client_to_upstream', d.length));
  upstream.on('data', (d: Buffer) => countBytes(ctx, 'upstream_to_client', d.length));
}

function countBytes(ctx: ConnectionContext, direction: Direction, n: number): void {
  ctx.metrics.bytes(direction, n);
  ctx.countBytes(direction, n);
}

/** Counts, logs (rate-limited), tells a TLS peer why with a fatal alert, and closes gracefully. */
function refuse(client: Socket, ctx: ConnectionContext, peer: string, r: Refusal): void {
  ctx.count(r.result);
  ctx.refusals.warn(r.result, { peer, result: r.result, reason: r.reason, ...(r.serverName ? { serverName: r.serverName } : {}) },
    `gateway: refused connection (${r.result})`);
  if (client.destroyed) return;
  // Keep draining so that closing with unread bytes does not turn our FIN (and alert) into a RST.
  client.on('data', () => undefined);
  client.resume();
  const linger = setTimeout(() => client.destroy(), ctx.limits.refusalLingerMs);
  linger.unref();
  client.once('close', () => clearTimeout(linger));
  if (r.alert) client.end(tlsAlertRecord(r.alert));
  else client.end();
}

/** A peer gateway's probe: this region's name, at once, then close. No route is looked up, nothing is dialled. */
function answerProbe(client: Socket, ctx: ConnectionContext, nonce: string): void {
  ctx.count('probe');
  client.on('data', () => undefined);
  client.resume();
  const linger = setTimeout(() => client.destroy(), ctx.limits.refusalLingerMs);
  linger.unref();
  client.once('close', () => clearTimeout(linger));
  client.end(probeAnswer(nonce, ctx.region));
}

function aborted(client: Socket, ctx: ConnectionContext, peer: string, reason: string): void {
  ctx.count('aborted');
  ctx.log.debug({ peer, reason }, 'gateway: client left before being routed');
  client.destroy();
}
