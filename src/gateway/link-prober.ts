// Reachability of peer regions, as this gateway sees them: every interval, a
// fresh TCP connection to each peer gateway address carries one probe line
// (preamble.ts) and must be answered with the expected region's name within a
// deadline. A fresh connection each time, on purpose: a pooled one would say
// nothing about a path that breaks for new connections (a blackhole, a
// firewall change). Results: reachable (down after MISSES_TO_DOWN misses in a
// row, up again at the first answer), smoothed RTT and loss over a window.
import { connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { formatSocketAddress, type SocketAddress } from '../core/address.js';
import { parseProbeAnswer, probeLine } from './preamble.js';

/** Probe period per target, ms: a cut is seen within about MISSES_TO_DOWN periods plus one deadline. */
export const PROBE_INTERVAL_MS = 250;
/** Deadline bounds, ms: the deadline is 3 × smoothed RTT + 100, within these. */
export const MIN_PROBE_DEADLINE_MS = 500;
export const MAX_PROBE_DEADLINE_MS = 2000;
/** Misses in a row that mark a clean link unreachable (one lost probe is not an outage). */
export const MISSES_TO_DOWN = 2;
/** On a lossy link, more: enough that loss alone makes a false "down" rarer than this per probe. */
const FALSE_DOWN_PER_PROBE = 1e-4;
const MAX_MISSES_TO_DOWN = 6;
/** Probes before the streak needed to call a link lossy. */
const MIN_LOSS_SAMPLE = 20;

/**
 * Misses in a row that mark a link down, given the share of probes it lost
 * before the current streak: 2 on a clean link (a cut is seen in about 0.5 to
 * 1 s), up to 6 on a lossy one (5% packet loss loses about one fresh-connection
 * probe in seven), so that loss is not taken for a cut.
 */
export function missesToDown(priorLoss: number): number {
  if (!(priorLoss > 0.01)) return MISSES_TO_DOWN;
  if (priorLoss >= 0.9) return MAX_MISSES_TO_DOWN;
  return Math.min(MAX_MISSES_TO_DOWN, Math.max(MISSES_TO_DOWN, Math.ceil(Math.log(FALSE_DOWN_PER_PROBE) / Math.log(priorLoss))));
}
/** Loss is the share of misses among the last this many probes. */
export const LOSS_WINDOW = 40;

export interface LinkTarget {
  readonly region: string;
  readonly address: SocketAddress;
}

export interface LinkStatus {
  readonly region: string;
  readonly address: string;
  /** undefined until the first probe has finished. */
  readonly reachable: boolean | undefined;
  /** Smoothed RTT of answered probes, ms (write to answer); undefined before the first answer. */
  readonly rttMs?: number;
  /** Share of misses among the last LOSS_WINDOW probes, 0..1. */
  readonly loss: number;
  readonly probes: number;
  /** Why the last probe failed, when it did. */
  readonly lastError?: string;
  /** When `reachable` last changed, epoch ms. */
  readonly since: number;
}

export type ProbeResult = { ok: true; rttMs: number } | { ok: false; reason: string };
export type ProbeFn = (target: LinkTarget, deadlineMs: number) => Promise<ProbeResult>;

/** One probe over a fresh TCP connection: resolves, never rejects. */
export function probeGateway(target: LinkTarget, deadlineMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const nonce = randomBytes(8).toString('hex');
    const socket = netConnect({ host: target.address.host, port: target.address.port });
    let sentAt = 0;
    let text = '';
    const done = (r: ProbeResult): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `no answer within ${deadlineMs} ms` }), deadlineMs);
    socket.on('error', (err) => done({ ok: false, reason: err.message }));
    socket.on('close', () => done({ ok: false, reason: 'closed without an answer' }));
    socket.on('connect', () => {
      socket.setNoDelay(true);
      sentAt = performance.now();
      socket.write(probeLine(nonce));
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!text.includes('\n')) {
        if (text.length > 256) done({ ok: false, reason: 'answer is not a probe answer' });
        return;
      }
      const region = parseProbeAnswer(text, nonce);
      if (region === undefined) return done({ ok: false, reason: 'answer is not a probe answer' });
      if (region !== target.region) return done({ ok: false, reason: `answered as region "${region}", expected "${target.region}"` });
      done({ ok: true, rttMs: performance.now() - sentAt });
    });
  });
}

interface LinkState {
  readonly target: LinkTarget;
  reachable: boolean | undefined;
  srtt: number | undefined;
  misses: number;
  window: boolean[];
  probes: number;
  lastError?: string;
  since: number;
  /** Probes are numbered; a late result of an older probe does not overwrite a newer one's. */
  sent: number;
  applied: number;
  inFlight: number;
}

export interface LinkProberOptions {
  readonly intervalMs?: number;
  readonly probe?: ProbeFn;
  readonly now?: () => number;
  /** Called when a link's reachability changes (up, down, first result). */
  readonly onChange?: () => void;
}

export class LinkProber {
  private readonly links = new Map<string, LinkState>();
  private readonly intervalMs: number;
  private readonly probe: ProbeFn;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LinkProberOptions = {}) {
    this.intervalMs = opts.intervalMs ?? PROBE_INTERVAL_MS;
    this.probe = opts.probe ?? probeGateway;
    this.now = opts.now ?? Date.now;
  }

  /** The addresses to probe: links that stay keep their history, new ones start unknown. */
  setTargets(targets: readonly LinkTarget[]): void {
    const next = new Map<string, LinkState>();
    for (const t of targets) {
      const key = `${t.region}|${formatSocketAddress(t.address)}`;
      next.set(key, this.links.get(key) ?? { target: t, reachable: undefined, srtt: undefined, misses: 0, window: [], probes: 0, since: this.now(), sent: 0, applied: 0, inFlight: 0 });
    }
    const changed = next.size !== this.links.size || [...next.keys()].some((k) => !this.links.has(k));
    this.links.clear();
    for (const [k, v] of next) this.links.set(k, v);
    if (changed) this.opts.onChange?.();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.round(), this.intervalMs);
    this.timer.unref();
    this.round();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One probe to every link (a link with a full deadline's worth of probes in flight waits). */
  round(): void {
    for (const s of this.links.values()) {
      const deadline = deadlineMs(s.srtt);
      if (s.inFlight * this.intervalMs >= deadline) continue;
      const n = ++s.sent;
      s.inFlight++;
      void this.probe(s.target, deadline).then((r) => {
        s.inFlight--;
        if (this.links.get(`${s.target.region}|${formatSocketAddress(s.target.address)}`) !== s) return;
        this.apply(s, n, r);
      });
    }
  }

  private apply(s: LinkState, n: number, r: ProbeResult): void {
    if (n < s.applied) return;
    s.applied = n;
    s.probes++;
    s.window.push(r.ok);
    if (s.window.length > LOSS_WINDOW) s.window.shift();
    const before = s.reachable;
    if (r.ok) {
      s.misses = 0;
      // RFC 6298's smoothing: one slow answer does not move the estimate much.
      s.srtt = s.srtt === undefined ? r.rttMs : s.srtt * 0.875 + r.rttMs * 0.125;
      s.reachable = true;
      delete s.lastError;
    } else {
      s.misses++;
      s.lastError = r.reason;
      // The loss the link showed before this streak of misses (the streak itself is what is being judged).
      const prior = s.window.slice(0, Math.max(0, s.window.length - s.misses));
      // Judged only over enough probes (5 s): one early miss is not a lossy link.
      const priorLoss = prior.length < MIN_LOSS_SAMPLE ? 0 : prior.filter((ok) => !ok).length / prior.length;
      if (s.misses >= missesToDown(priorLoss)) s.reachable = false;
    }
    if (s.reachable !== before) {
      s.since = this.now();
      this.opts.onChange?.();
    }
  }

  /** Whether the last probes say the address answers (undefined: not probed yet, or not a target). */
  reachable(region: string, address: SocketAddress): boolean | undefined {
    return this.links.get(`${region}|${formatSocketAddress(address)}`)?.reachable;
  }

  status(): LinkStatus[] {
    return [...this.links.values()].map((s) => ({
      region: s.target.region,
      address: formatSocketAddress(s.target.address),
      reachable: s.reachable,
      ...(s.srtt !== undefined ? { rttMs: Math.round(s.srtt * 10) / 10 } : {}),
      loss: s.window.length === 0 ? 0 : Math.round((s.window.filter((ok) => !ok).length / s.window.length) * 1000) / 1000,
      probes: s.probes,
      ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
      since: s.since,
    }));
  }
}

export function deadlineMs(srtt: number | undefined): number {
  if (srtt === undefined) return MAX_PROBE_DEADLINE_MS;
  return Math.min(MAX_PROBE_DEADLINE_MS, Math.max(MIN_PROBE_DEADLINE_MS, Math.round(3 * srtt + 100)));
}
