// Per-service local listener ports (the L4 fast path): one TCP listener per
// snapshot.outboundPorts entry. A snapshot swap reconciles them: new ones are
// opened, removed ones closed (their live connections finish), unchanged ones
// kept. A listener is identified by its listen address and its target.
import { createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../../../../core/errors.js';
import { formatSocketAddress, type SocketAddress } from '../../../../core/address.js';
import type { OutboundPort } from '../../dataplane-snapshot.js';
import type { DataplaneContext } from '../../dataplane-context.js';
import type { ServicePortEntry } from './service-port.js';
import { closeServer, listenOn } from '../../listen.js';

interface Listener {
  readonly server: Server;
  readonly bound: SocketAddress;
  readonly sockets: Set<Socket>;
  readonly target: { host: string; port: number };
}

/** Port 0 (ephemeral) listen addresses are only unique together with their target. */
function listenKey(p: OutboundPort): string {
  return `${formatSocketAddress(p.listen)}|${p.host}:${p.port}`;
}

export class OutboundListeners {
  /** Keyed by listenKey(). */
  private readonly listeners = new Map<string, Listener>();
  /** Removed listeners whose connections are still finishing. */
  private readonly draining = new Set<Listener>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly ctx: DataplaneContext, private readonly enter: ServicePortEntry) {}

  /** Serialized: concurrent swaps apply in call order. Listen failures are logged; the next swap retries them. */
  reconcile(ports: readonly OutboundPort[]): Promise<void> {
    this.queue = this.queue.then(() => this.apply(ports));
    return this.queue;
  }

  private async apply(ports: readonly OutboundPort[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(ports.map((p) => [listenKey(p), p]));
    for (const [key, l] of this.listeners) {
      if (!wanted.has(key)) {
        this.listeners.delete(key);
        // Stops accepting at once (the port is free again); live connections finish.
        this.draining.add(l);
        void closeServer(l.server).then(() => this.draining.delete(l));
      }
    }
    for (const [key, p] of wanted) {
      if (this.listeners.has(key)) continue;
      try {
        this.listeners.set(key, await this.open(p));
      } catch (err) {
        this.ctx.log.error({ listen: key, host: p.host, port: p.port, err: describeError(err) }, 'cannot open outbound listener');
      }
    }
  }

  private async open(p: OutboundPort): Promise<Listener> {
    const sockets = new Set<Socket>();
    const holder: { l?: Listener } = {};
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      const l = holder.l;
      if (!l) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      this.enter(socket, l.target.host, l.target.port);
    });
    server.on('error', (err) => this.ctx.log.error({ err: describeError(err) }, 'outbound listener error'));
    const bound = await listenOn(server, p.listen, `outbound ${p.host}:${p.port}`);
    holder.l = { server, bound, sockets, target: { host: p.host, port: p.port } };
    return holder.l;
  }

  /** Mesh "host:port" -> the local address that reaches it. */
  addresses(): Map<string, SocketAddress> {
    const out = new Map<string, SocketAddress>();
    for (const l of this.listeners.values()) out.set(`${l.target.host}:${l.target.port}`, l.bound);
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    const all = [...this.listeners.values(), ...this.draining];
    this.listeners.clear();
    this.draining.clear();
    for (const l of all) for (const s of l.sockets) s.destroy();
    await Promise.all(all.map((l) => closeServer(l.server)));
  }
}
