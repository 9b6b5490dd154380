// Pulls signed region states over mTLS from every peer that has a URL, every
// pull interval, each peer independently (one unreachable peer never delays
// the others). A peer answers with the states it holds, so states of regions
// we cannot reach arrive through the ones we can (relay); each is verified
// against its own region's bundle by FederationState, never trusted for the relay's sake.
// After a first full answer we ask only for what changed since its cursor (a
// delta pull), so an idle mesh costs one small answer per peer, not N states.
import { Agent, request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../core/log.js';
import { EntenteError, describeError } from '../core/errors.js';
import type { PeerConfig } from '../controller/controller-config.js';
import type { FederationState } from './federation-state.js';
import type { OfferDecision } from './signed-state.js';
import { spreadPeers } from './peer-spread.js';
import { EPOCH_PATTERN } from './state-feed.js';

export interface PeerSyncOptions {
  readonly peers: readonly PeerConfig[];
  readonly state: FederationState;
  readonly intervalMs: number;
  /** Our client credentials (controller SVID). */
  readonly credentials: () => { key: string; cert: string };
  readonly log: Logger;
  /**
   * Newer versions of these regions' states were accepted (bundles, services or gateways may have changed):
   * once per answer, after all its states were offered, so a first answer of N states costs one recompute, not N.
   */
  readonly onAccepted: (regions: string[]) => void;
  /** Per state: accepted, refreshed, unchanged, ignored or rejected. */
  readonly count?: (event: string) => void;
  readonly timeoutMs?: number;
  /**
   * Pull only this many peers per interval (sparse peering, for large meshes):
   * the peers spreadPeers picks for `ownRegion`, each over a kept-alive
   * connection; a slot whose peer failed pulls a random other peer next time.
   * Undefined: every peer with a URL, each on its own loop (the default).
   */
  readonly fanout?: number;
  readonly ownRegion?: string;
  readonly random?: () => number;
}

export interface PeerStatus {
  region: string;
  /** Whether our last pull from this peer got an answer; false for relay-only peers (no URL). */
  reachable: boolean;
  relayOnly: boolean;
  lastError?: string;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  /** The last state this peer sent that failed verification, and why. */
  lastRejected?: string;
  rejected: number;
}

/**
 * At most this many states per answer (or one per configured region, when more), and this many bytes:
 * a peer cannot make us verify without bound.
 */
const MAX_STATES = 256;
const MAX_BYTES = 8 << 20;

/** Where our last complete answer from a peer left off: the `since`/`epoch` of the next pull. */
interface FeedPosition {
  readonly epoch: string;
  readonly cursor: number;
}

interface PeerAnswer {
  readonly states: string[];
  /** Undefined for a peer that does not serve the feed (older version), or sent a position we cannot use. */
  readonly position: FeedPosition | undefined;
  /** More states than we take per answer: the rest comes only with a full pull, so the position must not advance. */
  readonly truncated: boolean;
}

/** The answer's cursor and epoch, when both are usable; a peer sending neither, or nonsense, keeps getting full pulls. */
export function feedPosition(body: { cursor?: unknown; epoch?: unknown }): FeedPosition | undefined {
  const { cursor, epoch } = body;
  if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < 0) return undefined;
  if (typeof epoch !== 'string' || !EPOCH_PATTERN.test(epoch)) return undefined;
  return { epoch, cursor };
}

/** The peer answered, with an HTTP status other than 200. */
class PeerHttpError extends EntenteError {
  constructor(readonly status: number) {
    super('PEER_HTTP_STATUS', `peer answered HTTP ${status}`, { hint: status === 401 ? 'does the peer hold our bundle?' : 'is the URL a peer API of an Entente controller?' });
  }
}

export class PeerSync {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly statuses = new Map<string, PeerStatus>();
  private stopped = false;
  private readonly maxStates: number;
  /**
   * Kept-alive connections, one per peer: a pull every interval would
   * otherwise pay a TLS handshake each time (and the peer a client
   * certificate check). A cut link still shows: the request times out.
   */
  private readonly agent: Agent;
  /** Per peer region, where its last fully accepted answer ended; absent: the next pull is a full one. */
  private readonly positions = new Map<string, FeedPosition>();

  constructor(private readonly opts: PeerSyncOptions) {
    for (const p of opts.peers) this.statuses.set(p.region, { region: p.region, reachable: false, relayOnly: !p.url, rejected: 0 });
    this.maxStates = Math.max(MAX_STATES, opts.peers.length + 1);
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  private sparse(): boolean {
    return this.opts.fanout !== undefined && this.opts.fanout < this.opts.peers.filter((p) => p.url).length;
  }

  start(): void {
    const pullable = this.opts.peers.filter((p) => p.url);
    if (!this.sparse()) {
      for (const peer of pullable) void this.loop(() => peer);
      return;
    }
    const byRegion = new Map(pullable.map((p) => [p.region, p]));
    const random = this.opts.random ?? Math.random;
    for (const region of spreadPeers(this.opts.ownRegion ?? '', [...byRegion.keys()], this.opts.fanout!)) {
      const primary = byRegion.get(region)!;
      // Healthy: always the same peer (kept-alive). After a failure, one pull from a random peer, so a cut link costs half a slot.
      void this.loop(() => (this.statuses.get(region)!.reachable || this.statuses.get(region)!.lastAttemptAt === undefined ? primary : pullable[Math.floor(random() * pullable.length)]!), primary);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.agent?.destroy();
  }

  status(): PeerStatus[] {
    return [...this.statuses.values()].map((s) => ({ ...s }));
  }

  /** Pulls next() every interval; with `primary`, a pull of another peer is followed by one of primary. */
  private async loop(next: () => PeerConfig, primary?: PeerConfig): Promise<void> {
    let last: PeerConfig | undefined;
    while (!this.stopped) {
      const peer = primary && last && last !== primary ? primary : next();
      last = peer;
      await this.pullOnce(peer).catch((err: unknown) => this.opts.log.error({ peer: peer.region, err: describeError(err) }, 'federation loop step failed; retrying next interval'));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, this.opts.intervalMs);
        this.timers.add(t);
      });
    }
  }

  async pullOnce(peer: PeerConfig): Promise<void> {
    const st = this.statuses.get(peer.region)!;
    st.lastAttemptAt = new Date().toISOString();
    let answer: PeerAnswer;
    const from = this.positions.get(peer.region);
    try {
      answer = await this.fetchStates(peer, from);
    } catch (err) {
      // A peer that answers a delta request with an error (downgraded to a version that 404s on a query,
      // or it refuses our cursor) gets a full pull next time; a network failure keeps the position.
      if (from && err instanceof PeerHttpError) this.positions.delete(peer.region);
      const msg = describeError(err);
      if (st.reachable || st.lastError !== msg) this.opts.log.warn({ peer: peer.region, err: msg }, 'peer region unreachable; serving from the last states we hold');
      st.reachable = false;
      st.lastError = msg;
      return;
    }
    if (!st.reachable) this.opts.log.info({ peer: peer.region }, 'peer region reachable');
    st.reachable = true;
    st.lastSuccessAt = new Date().toISOString();
    delete st.lastError;
    this.opts.count?.(from ? 'federation_pull_delta' : 'federation_pull_full');
    const accepted: string[] = [];
    let rejected = 0;
    for (const jws of answer.states) {
      let d: OfferDecision;
      try {
        d = this.opts.state.offer(jws, peer.region);
      } catch (err) {
        // One bad state (or a full disk when persisting) must not stop this peer's loop.
        d = { kind: 'reject', region: undefined, reason: `could not be processed: ${describeError(err)}` };
      }
      this.opts.count?.(`federation_state_${d.kind}`);
      if (d.kind === 'accept') {
        this.opts.log.info({ stateOf: d.held.state.region, version: d.held.state.version, via: peer.region, bundleChanged: d.bundleChanged }, 'region state accepted');
        accepted.push(d.held.state.region);
      } else if (d.kind === 'reject') {
        rejected++;
        st.rejected++;
        const what = `${d.region ?? 'unknown region'}: ${d.reason}`;
        if (st.lastRejected !== what) this.opts.log.warn({ via: peer.region, stateOf: d.region, reason: d.reason }, 'region state refused');
        st.lastRejected = what;
      }
    }
    // A rejection may be transient (a bundle we do not hold yet, a full disk): keeping the old
    // position gets us the same states again next time, where advancing would skip them for good.
    if (answer.position && rejected === 0 && !answer.truncated) this.positions.set(peer.region, answer.position);
    else if (!answer.position) this.positions.delete(peer.region);
    if (accepted.length > 0) this.opts.onAccepted(accepted);
  }

  /**
   * One pull. A kept-alive connection the peer closed while idle (its keep-alive
   * timeout raced our next pull) fails with a reset before any answer: that
   * pull is sent again once on a fresh connection, rather than counted as the
   * peer being unreachable.
   */
  private async fetchStates(peer: PeerConfig, from: FeedPosition | undefined): Promise<PeerAnswer> {
    try {
      return await this.fetchOnce(peer, from);
    } catch (err) {
      if (err instanceof StaleSocketError) return this.fetchOnce(peer, from);
      throw err;
    }
  }

  private fetchOnce(peer: PeerConfig, from: FeedPosition | undefined): Promise<PeerAnswer> {
    const anchor = this.opts.state.anchor(peer.region);
    if (!anchor) return Promise.reject(new Error(`no bundle for ${peer.trustDomain} yet (bootstrap file ${peer.bundle} unreadable)`));
    const expected = `spiffe://${peer.trustDomain}/controller`;
    const creds = this.opts.credentials();
    return new Promise((resolve, reject) => {
      const req = request(
        `${peer.url!.replace(/\/$/, '')}/v1/federation/states${from ? `?since=${from.cursor}&epoch=${encodeURIComponent(from.epoch)}` : ''}`,
        {
          method: 'GET',
          key: creds.key,
          cert: creds.cert,
          ca: [...anchor.x509Authorities],
          minVersion: 'TLSv1.3',
          agent: this.agent,
          timeout: this.opts.timeoutMs ?? 5000,
          // The peer is named by its SPIFFE ID, not by the host name in the URL.
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            cert.subjectaltname === `URI:${expected}` ? undefined : new Error(`peer presented ${cert.subjectaltname ?? 'no SAN'}, expected ${expected}`),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BYTES) req.destroy(new Error(`peer sent more than ${MAX_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new PeerHttpError(res.statusCode ?? 0));
            try {
              const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { states?: unknown; cursor?: unknown; epoch?: unknown };
              if (!Array.isArray(body.states) || !body.states.every((s) => typeof s === 'string')) throw new Error('no "states" list');
              const states = body.states as string[];
              resolve({ states: states.slice(0, this.maxStates), position: feedPosition(body), truncated: states.length > this.maxStates });
            } catch (err) {
              reject(new Error(`peer answered with an invalid states document (${(err as Error).message})`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new StaleSocketError(err) : err));
      req.end();
    });
  }
}

/** A request on a reused kept-alive socket that the peer had closed: safe to send again (it was never answered). */
class StaleSocketError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}
