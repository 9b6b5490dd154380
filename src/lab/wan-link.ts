// The lab's WAN emulator for one directed link between two regions: a TCP proxy
// that delays every chunk by the one-way latency (plus jitter, never reordering),
// emulates the TCP handshake round trip, and can blackhole or reset the link.
import { createServer, connect as netConnect, type Socket, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/log.js';
import { EntenteError } from '../core/errors.js';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';

export type PartitionMode = false | 'blackhole' | 'reset';

export interface WanLinkOptions {
  readonly listen: SocketAddress;
  readonly target: SocketAddress;
  /** One-way delay, applied in each direction. */
  readonly latencyMs: number;
  /** Each chunk's delay is latency ± up to jitterMs (uniform), clamped at 0; order is kept. */
  readonly jitterMs?: number;
  readonly log?: Logger;
  /** Bytes held per direction before the sender is paused (default 1 MiB). */
  readonly maxQueuedBytes?: number;
  /** Uniform [0, 1) source for jitter; injectable for tests. */
  readonly random?: () => number;
}

export interface WanLinkStats {
  readonly accepted: number;
  readonly active: number;
  /** Bytes delivered: forward = listen side → target, backward = target → listen side. */
  readonly bytes: { readonly forward: number; readonly backward: number };
  readonly queuedBytes: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly partitioned: PartitionMode;
}

export interface WanLink {
  readonly address: SocketAddress;
  setLatency(latencyMs: number, jitterMs?: number): void;
  setPartitioned(mode: PartitionMode): void;
  close(): Promise<void>;
  stats(): WanLinkStats;
}

/**
 * When a chunk that arrived at `arrival` is delivered: one-way latency plus
 * jitter, but never before the previous chunk of the same direction, so
 * release times are non-decreasing and bytes stay in order.
 */
export function releaseTime(previous: number, arrival: number, latencyMs: number, jitterMs: number, random: () => number): number {
  const delay = Math.max(0, latencyMs + (jitterMs > 0 ? (2 * random() - 1) * jitterMs : 0));
  return Math.max(previous, arrival + delay);
}

interface LinkState {
  latencyMs: number;
  jitterMs: number;
  partitioned: PartitionMode;
  readonly maxQueuedBytes: number;
  readonly random: () => number;
}

type Item = { at: number; chunk: Buffer } | { at: number; chunk: 'end' };

/** One direction of one connection: a time-ordered queue between a source and a destination socket. */
class DelayLine {
  private readonly queue: Item[] = [];
  private queued = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private awaitingDrain = false;
  /** Nothing sent before this instant leaves the sender (the emulated TCP handshake). */
  notBefore = 0;
  dst: Socket | undefined;

  constructor(readonly src: Socket, private readonly link: LinkState, private readonly delivered: (n: number) => void) {}

  get queuedBytes(): number { return this.queued; }

  push(chunk: Buffer | 'end'): void {
    const arrival = Math.max(performance.now(), this.notBefore);
    this.last = releaseTime(this.last, arrival, this.link.latencyMs, this.link.jitterMs, this.link.random);
    this.queue.push({ at: this.last, chunk } as Item);
    if (chunk !== 'end') this.queued += chunk.length;
    this.updateFlow();
    if (this.queue.length === 1) this.pump();
  }

  /** Delivers every item that is due, then sleeps until the next one. */
  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const dst = this.dst;
    if (!dst || this.link.partitioned === 'blackhole' || this.awaitingDrain) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      if (chunk === 'end') { dst.end(); continue; }
      this.queued -= chunk.length;
      this.delivered(chunk.length);
      if (!dst.write(chunk)) {
        // The receiver is slower than the link: hold later chunks until it drains (they arrive late, in order).
        this.awaitingDrain = true;
        dst.once('drain', () => { this.awaitingDrain = false; this.pump(); });
        break;
      }
    }
    this.updateFlow();
    const head = this.queue[0];
    // setTimeout may fire early against performance.now(); pump() re-checks and re-arms.
    if (head && !this.awaitingDrain) this.timer = setTimeout(() => this.pump(), Math.max(1, Math.ceil(head.at - now)));
  }

  /** Pauses the sender while the link is cut or too much is queued; hysteresis avoids flapping. */
  updateFlow(): void {
    const max = this.link.maxQueuedBytes;
    const hold = this.link.partitioned === 'blackhole' || this.queued > max || (this.src.isPaused() && this.queued > max / 2);
    if (hold && !this.src.isPaused()) this.src.pause();
    else if (!hold && this.src.isPaused()) this.src.resume();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.queued = 0;
  }
}

/** One proxied connection: the accepted socket, the socket to the target, a delay line each way. */
class LinkConnection {
  upstream: Socket | undefined;
  readonly forward: DelayLine;
  backward: DelayLine | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(readonly client: Socket, private readonly link: LinkState, private readonly target: SocketAddress,
    private readonly counters: { forward: number; backward: number }, private readonly onDone: (c: LinkConnection) => void) {
    this.forward = new DelayLine(client, link, (n) => { counters.forward += n; });
    client.on('data', (d: Buffer) => this.forward.push(d));
    client.on('end', () => this.forward.push('end'));
    client.on('error', () => this.failSoon());
    client.on('close', () => this.finishIfClosed());
    this.forward.updateFlow();
    if (link.partitioned !== 'blackhole') this.startHandshake();
  }

  /** Emulated TCP handshake: the SYN reaches the target after one latency; data leaves the client after a full RTT. */
  startHandshake(): void {
    if (this.done) return;
    const latency = this.link.latencyMs;
    this.forward.notBefore = performance.now() + 2 * latency;
    this.connectTimer = setTimeout(() => this.connectUpstream(), latency);
  }

  private connectUpstream(): void {
    this.connectTimer = undefined;
    if (this.done || this.link.partitioned === 'blackhole') return; // a blackholed SYN is retried on heal
    const up = netConnect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    const backward = new DelayLine(up, this.link, (n) => { this.counters.backward += n; });
    backward.dst = this.client;
    this.backward = backward;
    up.on('connect', () => { this.forward.dst = up; this.forward.pump(); });
    up.on('data', (d: Buffer) => backward.push(d));
    up.on('end', () => backward.push('end'));
    // A refused or reset target looks the same to the client: a reset, one latency later.
    up.on('error', () => this.failSoon());
    up.on('close', () => this.finishIfClosed());
  }

  /** Called when the link heals from a blackhole: resume everything that was held. */
  resume(): void {
    if (!this.upstream && !this.connectTimer) this.startHandshake();
    for (const line of [this.forward, this.backward]) { line?.updateFlow(); line?.pump(); }
  }

  /** Hard failure: both sides get a TCP reset, queued bytes are dropped. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.connectTimer);
    this.forward.stop();
    this.backward?.stop();
    for (const s of [this.client, this.upstream]) {
      if (!s || s.destroyed) continue;
      s.on('error', () => undefined);
      try { s.resetAndDestroy(); } catch { s.destroy(); }
    }
    this.onDone(this);
  }

  /** Both sockets are gone (normal close after both ends travelled, or a reset): forget the connection. */
  private finishIfClosed(): void {
    if (this.done || !this.client.destroyed || (this.upstream && !this.upstream.destroyed)) return;
    if (!this.upstream) return this.abort();
    this.done = true;
    this.forward.stop();
    this.backward?.stop();
    this.onDone(this);
  }

  /** A socket failed: its peer learns by a reset one latency later, as over a real path. */
  private failSoon(): void {
    if (!this.done) setTimeout(() => this.abort(), this.link.latencyMs).unref();
  }

  get queuedBytes(): number {
    return this.forward.queuedBytes + (this.backward?.queuedBytes ?? 0);
  }
}

export async function startWanLink(opts: WanLinkOptions): Promise<WanLink> {
  checkDelays(opts.latencyMs, opts.jitterMs ?? 0);
  const link: LinkState = {
    latencyMs: opts.latencyMs,
    jitterMs: opts.jitterMs ?? 0,
    partitioned: false,
    maxQueuedBytes: opts.maxQueuedBytes ?? 1024 * 1024,
    random: opts.random ?? Math.random,
  };
  const conns = new Set<LinkConnection>();
  const bytes = { forward: 0, backward: 0 };
  let accepted = 0;
  const name = `${formatSocketAddress(opts.listen)} -> ${formatSocketAddress(opts.target)}`;

  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    client.setNoDelay(true);
    if (link.partitioned === 'reset') {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    conns.add(new LinkConnection(client, link, opts.target, bytes, (c) => conns.delete(c)));
  });
  server.on('error', (err) => opts.log?.error({ link: name, err: err.message }, 'wan-link: listener error'));
  const address = await new Promise<SocketAddress>((resolve, reject) => {
    server.once('error', (err) => reject(new EntenteError('WAN_LINK_LISTEN', `WAN link cannot listen on ${formatSocketAddress(opts.listen)}: ${err.message}`, {
      hint: 'pick a free port, or a loopback address that exists on this host', cause: err,
    })));
    server.listen(opts.listen.port, opts.listen.host, () => {
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });

  let closing: Promise<void> | undefined;
  return {
    address,
    setLatency(latencyMs, jitterMs = 0) {
      checkDelays(latencyMs, jitterMs);
      link.latencyMs = latencyMs;
      link.jitterMs = jitterMs;
      opts.log?.info({ link: name, latencyMs, jitterMs }, 'wan-link: latency changed');
    },
    setPartitioned(mode) {
      if (mode === link.partitioned) return;
      link.partitioned = mode;
      opts.log?.info({ link: name, mode }, 'wan-link: partition changed');
      for (const c of [...conns]) {
        if (mode === 'reset') c.abort();
        else if (mode === 'blackhole') { c.forward.updateFlow(); c.backward?.updateFlow(); }
        else c.resume();
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...conns]) c.abort();
      });
      return closing;
    },
    stats: () => ({
      accepted,
      active: conns.size,
      bytes: { ...bytes },
      queuedBytes: [...conns].reduce((n, c) => n + c.queuedBytes, 0),
      latencyMs: link.latencyMs,
      jitterMs: link.jitterMs,
      partitioned: link.partitioned,
    }),
  };
}

function checkDelays(latencyMs: number, jitterMs: number): void {
  if (!Number.isFinite(latencyMs) || latencyMs < 0 || !Number.isFinite(jitterMs) || jitterMs < 0) {
    throw new EntenteError('WAN_LINK_BAD_DELAY', `WAN link latency ${latencyMs} ms / jitter ${jitterMs} ms is not valid`, {
      hint: 'latency and jitter are non-negative milliseconds',
    });
  }
}
