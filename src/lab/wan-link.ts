// The lab's WAN emulator for one directed link between two regions: a TCP proxy
// that delays every chunk by the one-way latency (plus jitter, never reordering),
// emulates the TCP handshake round trip, loss (as retransmission delay) and a
// bandwidth limit, and can blackhole or reset the link.
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
  /** Uniform [0, 1) source for jitter and loss; injectable for tests. */
  readonly random?: () => number;
  /**
   * Fraction (0..1) of chunks, and of new connections' handshakes, that are "lost".
   * Through a TCP proxy loss shows as retransmission delay: a lost chunk arrives
   * retransmitPenaltyMs() late (later chunks wait behind it), a lost SYN costs
   * SYN_RTO_MS before the connection opens. Default 0.
   */
  readonly loss?: number;
  /** Bytes per second per direction, shared by all connections of the link; undefined = unlimited. */
  readonly bandwidthBps?: number;
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
  readonly loss: number;
  readonly bandwidthBps: number | undefined;
}

export interface WanLink {
  readonly address: SocketAddress;
  setLatency(latencyMs: number, jitterMs?: number): void;
  /** Applies to chunks read, and connections accepted, afterwards. */
  setLoss(loss: number): void;
  /** undefined lifts the limit; applies to chunks read afterwards. */
  setBandwidth(bandwidthBps: number | undefined): void;
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

/** Linux's minimum retransmission timeout (TCP_RTO_MIN). */
export const MIN_RTO_MS = 200;
/** Linux's initial retransmission timeout for a SYN (TCP_TIMEOUT_INIT, RFC 6298). */
export const SYN_RTO_MS = 1000;

/**
 * How much later a lost chunk is delivered: one retransmission timeout. Linux
 * computes RTO = SRTT + max(RTTVAR, TCP_RTO_MIN) (__tcp_set_rto; RTTVAR is
 * floored at the 200 ms minimum), so on a steady path RTO ≈ RTT + 200 ms, and
 * RTT = 2 × one-way latency here. This models the timeout path (tail loss, as in
 * request/response traffic); fast retransmit, which recovers a loss in mid-stream
 * after about one RTT, is not modelled, so this is the pessimistic case.
 */
export function retransmitPenaltyMs(latencyMs: number): number {
  return MIN_RTO_MS + 2 * latencyMs;
}

/** What the release-time computation reads of a link's settings. */
export interface LinkShape {
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly loss: number;
  readonly bandwidthBps: number | undefined;
}

/**
 * Schedules one chunk of `bytes` read at `arrival` (milliseconds). Bandwidth is a
 * serialization-delay model: each direction of the link has one transmitter, shared
 * by its connections, that sends one chunk at a time at bandwidthBps, so the chunk's
 * last byte leaves at max(arrival, wireFreeAt) + bytes / bandwidth (no burst
 * allowance, unlike a token bucket). It then travels latency ± jitter, plus
 * retransmitPenaltyMs() with probability `loss`, and is never released before the
 * previous chunk of its connection and direction (releaseTime()). Pure: the caller
 * stores the returned release (per connection) and wireFreeAt (per link direction).
 * `random` is drawn for loss only when 0 < loss, then for jitter only when jitter > 0.
 */
export function scheduleChunk(previousRelease: number, wireFreeAt: number, arrival: number, bytes: number,
  shape: LinkShape, random: () => number): { release: number; wireFreeAt: number } {
  const bw = shape.bandwidthBps;
  const sent = bw === undefined ? arrival : Math.max(arrival, wireFreeAt) + (bytes * 1000) / bw;
  const lost = shape.loss > 0 && random() < shape.loss;
  const departure = lost ? sent + retransmitPenaltyMs(shape.latencyMs) : sent;
  return {
    release: releaseTime(previousRelease, departure, shape.latencyMs, shape.jitterMs, random),
    wireFreeAt: bw === undefined ? wireFreeAt : sent,
  };
}

interface LinkState extends LinkShape {
  latencyMs: number;
  jitterMs: number;
  loss: number;
  bandwidthBps: number | undefined;
  /** When each direction's transmitter is free again (bandwidth model). */
  readonly wireFreeAt: { forward: number; backward: number };
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

  constructor(readonly src: Socket, private readonly link: LinkState, private readonly direction: 'forward' | 'backward',
    private readonly delivered: (n: number) => void) {}

  get queuedBytes(): number { return this.queued; }

  push(chunk: Buffer | 'end'): void {
    const arrival = Math.max(performance.now(), this.notBefore);
    const wire = this.link.wireFreeAt;
    const s = scheduleChunk(this.last, wire[this.direction], arrival, chunk === 'end' ? 0 : chunk.length, this.link, this.link.random);
    this.last = s.release;
    wire[this.direction] = s.wireFreeAt;
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
    this.forward = new DelayLine(client, link, 'forward', (n) => { counters.forward += n; });
    client.on('data', (d: Buffer) => this.forward.push(d));
    client.on('end', () => this.forward.push('end'));
    client.on('error', () => this.failSoon());
    client.on('close', () => this.finishIfClosed());
    this.forward.updateFlow();
    if (link.partitioned !== 'blackhole') this.startHandshake();
  }

  /**
   * Emulated TCP handshake: the SYN reaches the target after one latency; data leaves the client after a full RTT.
   * With probability `loss` the SYN is lost and resent after SYN_RTO_MS, which delays both.
   */
  startHandshake(): void {
    if (this.done) return;
    const link = this.link;
    const latency = link.latencyMs + (link.loss > 0 && link.random() < link.loss ? SYN_RTO_MS : 0);
    this.forward.notBefore = performance.now() + latency + link.latencyMs;
    this.connectTimer = setTimeout(() => this.connectUpstream(), latency);
  }

  private connectUpstream(): void {
    this.connectTimer = undefined;
    if (this.done || this.link.partitioned === 'blackhole') return; // a blackholed SYN is retried on heal
    const up = netConnect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    const backward = new DelayLine(up, this.link, 'backward', (n) => { this.counters.backward += n; });
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
  checkLoss(opts.loss ?? 0);
  checkBandwidth(opts.bandwidthBps);
  const link: LinkState = {
    latencyMs: opts.latencyMs,
    jitterMs: opts.jitterMs ?? 0,
    loss: opts.loss ?? 0,
    bandwidthBps: opts.bandwidthBps,
    wireFreeAt: { forward: 0, backward: 0 },
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
    setLoss(loss) {
      checkLoss(loss);
      link.loss = loss;
      opts.log?.info({ link: name, loss }, 'wan-link: loss changed');
    },
    setBandwidth(bandwidthBps) {
      checkBandwidth(bandwidthBps);
      link.bandwidthBps = bandwidthBps;
      opts.log?.info({ link: name, bandwidthBps: bandwidthBps ?? 'unlimited' }, 'wan-link: bandwidth changed');
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
      loss: link.loss,
      bandwidthBps: link.bandwidthBps,
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

function checkLoss(loss: number): void {
  if (typeof loss !== 'number' || Number.isNaN(loss) || loss < 0 || loss > 1) {
    throw new EntenteError('WAN_LINK_BAD_LOSS', `WAN link loss ${String(loss)} is not valid: expected a fraction from 0 to 1`, {
      hint: 'loss is the fraction of chunks delayed by a retransmission, e.g. 0.01 for 1%',
    });
  }
}

function checkBandwidth(bandwidthBps: number | undefined): void {
  if (bandwidthBps === undefined) return;
  if (typeof bandwidthBps !== 'number' || !Number.isFinite(bandwidthBps) || bandwidthBps <= 0) {
    throw new EntenteError('WAN_LINK_BAD_BANDWIDTH', `WAN link bandwidth ${String(bandwidthBps)} bytes/s is not valid: expected a positive finite number of bytes per second`, {
      hint: 'leave bandwidthBps undefined for an unlimited link',
    });
  }
}
