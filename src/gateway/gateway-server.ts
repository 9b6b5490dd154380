// The region's east-west gateway: accepts TLS from other regions, routes each
// connection by the SNI of its ClientHello and splices it, still encrypted, to
// the destination agent. It never terminates TLS and holds no keys.
import { createServer, type Socket, type AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { EntenteError, describeError } from '../core/errors.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES } from './client-hello.js';
import { GATEWAY_RESULTS, type GatewayResult, type GatewayRoutes } from './route-decision.js';
import { createGatewayMetrics, type Direction } from './gateway-metrics.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { serveConnection, type ConnectionLimits } from './gateway-connection.js';
import { ConnectionCaps, DEFAULT_GATEWAY_CAPS, type GatewayCaps } from './connection-caps.js';

export type { GatewayRoutes } from './route-decision.js';

export interface GatewayOptions {
  readonly listen: SocketAddress;
  /** The gateway's region: what it answers to peer gateways' probes and marks on connections it relays. */
  readonly region: string;
  readonly routes: GatewayRoutes;
  readonly log: Logger;
  readonly registry: Registry;
  /** A client must complete its ClientHello within this time (default 10 s). */
  readonly clientHelloTimeoutMs?: number;
  /** Largest accepted ClientHello handshake message (default 16 KiB + 4). */
  readonly maxClientHelloBytes?: number;
  readonly upstreamConnectTimeoutMs?: number;
  /** Refusal log lines per second and per refusal reason before suppression (default 20). */
  readonly refusalLogPerSecond?: number;
  /** Connection caps, in all and per source IP (defaults: DEFAULT_GATEWAY_CAPS). */
  readonly caps?: Partial<GatewayCaps>;
}

export interface GatewayStats {
  readonly accepted: number;
  readonly active: number;
  readonly results: Readonly<Record<GatewayResult, number>>;
  readonly bytes: Readonly<Record<Direction, number>>;
}

export interface RunningGateway {
  readonly address: SocketAddress;
  /** Stops accepting, destroys every open connection, resolves when the listener is closed. */
  close(): Promise<void>;
  stats(): GatewayStats;
}

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const limits = checkLimits(opts);
  const caps = new ConnectionCaps(checkCaps({ ...DEFAULT_GATEWAY_CAPS, ...opts.caps }));
  const metrics = createGatewayMetrics(opts.registry);
  const refusals = new RateLimitedLog(opts.log, { burst: opts.refusalLogPerSecond ?? 20, windowMs: 1000 });
  const sockets = new Set<Socket>();
  const results = Object.fromEntries(GATEWAY_RESULTS.map((r) => [r, 0])) as Record<GatewayResult, number>;
  const bytes: Record<Direction, number> = { client_to_upstream: 0, upstream_to_client: 0 };
  let accepted = 0;
  let active = 0;

  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const context = {
    region: opts.region,
    routes: opts.routes,
    limits,
    metrics,
    refusals,
    log: opts.log,
    count: (r: GatewayResult) => { results[r]++; metrics.connection(r); },
    countBytes: (d: Direction, n: number) => { bytes[d] += n; },
    track,
  };

  // allowHalfOpen: a client that has finished sending must still receive the agent's reply.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    // Caps first, before a byte is read: a refused connection costs one accept and one close.
    const source = client.remoteAddress ?? '?';
    const slot = caps.admit(source);
    if (slot.kind === 'refuse') {
      context.count(slot.result);
      refusals.warn(slot.result, { peer: `${source}:${client.remotePort ?? '?'}`, result: slot.result, reason: slot.reason }, `gateway: refused connection (${slot.result})`);
      client.on('error', () => undefined);
      client.destroy();
      return;
    }
    active++;
    metrics.active.inc();
    sockets.add(client);
    // One close listener for all the bookkeeping: the splice adds its own, and a socket warns past ten.
    client.once('close', () => {
      sockets.delete(client);
      slot.release();
      active--;
      metrics.active.dec();
    });
    void serveConnection(client, context);
  });
  server.on('error', (err) => opts.log.error({ err: describeError(err) }, 'gateway: listener error'));

  const address = await listen(server, opts.listen);
  opts.log.info({ address: formatSocketAddress(address) }, 'gateway: listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        refusals.flush();
      });
      return closing;
    },
    stats: () => ({ accepted, active, results: { ...results }, bytes: { ...bytes } }),
  };
}

function listen(server: ReturnType<typeof createServer>, at: SocketAddress): Promise<SocketAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new EntenteError('GATEWAY_LISTEN', `gateway cannot listen on ${formatSocketAddress(at)}: ${err.message}`, {
        hint: 'is another process bound to that address, or is the address not configured on this host?', cause: err,
      }));
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}

function checkCaps(caps: GatewayCaps): GatewayCaps {
  const bad = Object.entries(caps).filter(([, v]) => !Number.isInteger(v) || (v as number) < 1).map(([k, v]) => `${k}=${String(v)}`);
  if (bad.length > 0) {
    throw new EntenteError('GATEWAY_BAD_OPTIONS', `gateway connection caps out of range: ${bad.join(', ')}`, { hint: 'caps are whole numbers of connections, at least 1' });
  }
  return caps;
}

function checkLimits(opts: GatewayOptions): ConnectionLimits {
  const limits: ConnectionLimits = {
    clientHelloTimeoutMs: opts.clientHelloTimeoutMs ?? 10_000,
    maxClientHelloBytes: opts.maxClientHelloBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES,
    upstreamConnectTimeoutMs: opts.upstreamConnectTimeoutMs ?? 5_000,
    refusalLingerMs: 1_000,
  };
  const bad = Object.entries(limits).filter(([, v]) => !Number.isFinite(v) || v <= 0).map(([k, v]) => `${k}=${v}`);
  if (limits.maxClientHelloBytes < 64) bad.push(`maxClientHelloBytes=${limits.maxClientHelloBytes} (below 64)`);
  if (bad.length > 0) {
    throw new EntenteError('GATEWAY_BAD_OPTIONS', `gateway options out of range: ${bad.join(', ')}`, {
      hint: 'timeouts are positive milliseconds; maxClientHelloBytes is a byte count of at least 64',
    });
  }
  return limits;
}
