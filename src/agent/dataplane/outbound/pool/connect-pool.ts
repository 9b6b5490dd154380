// Pooled mTLS HTTP/2 sessions to peer agents, one per (source workload
// identity, destination identity + sni + dial address). App connections become CONNECT
// streams on these sessions, so a new app connection costs no handshake. A
// session that dies (GOAWAY, close, error) leaves the pool and the next stream
// reconnects; when the source's SVID or the destination's trust changes, new
// streams go to a new session and the old one drains. A session carries at most
// as many streams as the peer allows (SETTINGS_MAX_CONCURRENT_STREAMS); when all
// sessions to a peer are full, another one is opened, so no stream waits in
// nghttp2's queue behind long-lived ones.
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { EntenteError, describeError } from '../../../../core/errors.js';
import { formatSocketAddress } from '../../../../core/address.js';
import { verifyX509SvidChain } from '../../../../identity/verify-svid.js';
import type { DataplaneSnapshot, Endpoint, WorkloadCredentials } from '../../dataplane-snapshot.js';
import { h2Settings, type DataplaneContext } from '../../dataplane-context.js';
import { pathKey } from '../balance/picker.js';
import { cutPingBoundMs, cutVerdict } from './cut-paths.js';
import { MESH_ALPN, chainFromPeerCertificate, handshakeFailureReason, type TlsContexts } from '../../tls-contexts.js';

export interface PoolEntry {
  readonly key: string;
  /** The address the session was dialled to ("host:port"). */
  readonly dial: string;
  /** The remote path it serves (picker.ts pathKey), whose RTT bounds a liveness ping. */
  readonly path: string;
  readonly session: ClientHttp2Session;
  readonly creds: WorkloadCredentials;
  readonly trustKey: string;
  /** True once the TLS handshake and HTTP/2 preface are done. */
  connected: boolean;
  /** The server's SVID expiry (known once connected): after it, new streams go to a new session. */
  peerNotAfterMs: number;
  /** Streams reserved or open (acquire() reserves a slot), and when one last opened or closed (idle reaping). */
  streams: number;
  /** Streams actually opened on the session (track()). */
  open: number;
  lastUsedMs: number;
  /** When the busy ping now outstanding was sent (undefined: none outstanding). */
  busyPingSentAt: number | undefined;
  /** Pings while the session carries streams (busyPingMs), stopped when it carries none. */
  busyPinger: NodeJS.Timeout | undefined;
  /** Settles when the session connects (or fails to). Never rejects unhandled. */
  readonly ready: Promise<void>;
}

export type AcquireResult = { kind: 'ok'; entry: PoolEntry } | { kind: 'refuse'; code: 'shutting_down' | 'connect_failed'; reason: string };

/** How many streams a session may carry: the peer's limit once known, ours (the mesh's default) until then. */
export function sessionCapacity(entry: Pick<PoolEntry, 'connected' | 'session'>, ownLimit: number): number {
  if (!entry.connected) return ownLimit;
  const peer = entry.session.remoteSettings?.maxConcurrentStreams;
  return typeof peer === 'number' && peer > 0 ? peer : ownLimit;
}

/** A standby key is dialled at most this often (a dead one is not redialled on every call). */
const WARM_RETRY_MS = 5000;

export class ConnectPool {
  /** Per peer key, its sessions; new streams go to the first one with a free slot. */
  private readonly entries = new Map<string, PoolEntry[]>();
  private readonly all = new Set<ClientHttp2Session>();
  /** HTTP/2 PING round trips per destination region (EWMA, ms): the balancer orders other regions by it. */
  private readonly rtt = new Map<string, number>();
  private closed = false;
  /** When warm() last tried each (endpoint, source credentials); both are immutable snapshot objects, so entries go with them. */
  private readonly warmedAt = new WeakMap<Endpoint, WeakMap<WorkloadCredentials, number>>();

  constructor(private readonly ctx: DataplaneContext, private readonly contexts: TlsContexts) {}

  /**
   * A session for (source, endpoint) with a stream slot reserved, opening one
   * if every session is full; never waits. The caller either opens a stream and
   * hands it to track(), or gives the slot back with release().
   */
  acquire(snapshot: DataplaneSnapshot, creds: WorkloadCredentials, endpoint: Endpoint): AcquireResult {
    if (this.closed) return { kind: 'refuse', code: 'shutting_down', reason: 'data plane is shutting down' };
    const tls = this.contexts.clientContextFor(snapshot, creds, endpoint.spiffeId.trustDomain);
    if (tls.kind === 'refuse') return { kind: 'refuse', code: 'connect_failed', reason: tls.reason };
    // The expected identity is part of the key: a session verified one identity, never another.
    const key = this.keyOf(creds, endpoint);
    // retire() replaces the key's list instead of changing it, so iterating this one stays safe.
    for (const existing of this.entries.get(key) ?? []) {
      const usable = !existing.session.closed && !existing.session.destroyed && this.ctx.now() < existing.peerNotAfterMs;
      const current = existing.creds === creds || existing.creds.certChainPem === creds.certChainPem;
      if (!usable || !current || existing.trustKey !== tls.trustKey) {
        // Rotation or trust change: new streams use a new session; the old one finishes its streams.
        this.retire(existing, usable ? 'credentials or trust changed' : 'session closed or peer SVID expired');
        continue;
      }
      if (existing.streams < sessionCapacity(existing, this.ctx.tuning.maxStreamsPerSession)) return this.reserve(existing);
    }
    const entry = this.open(key, snapshot, creds, endpoint, tls.context, tls.trustKey);
    this.entries.set(key, [...(this.entries.get(key) ?? []), entry]);
    return this.reserve(entry);
  }

  /**
   * Keeps a session to (source, endpoint) open without reserving a stream
   * (a standby for failover): opens one when the key has no usable session,
   * at most once per WARM_RETRY_MS per key, so a dead standby is not redialled
   * on every call. An unused standby is reaped like any idle session.
   */
  warm(snapshot: DataplaneSnapshot, creds: WorkloadCredentials, endpoint: Endpoint): void {
    if (this.closed) return;
    // Called on every cross-region call: two WeakMap lookups decide, before any key is built.
    const now = this.ctx.now();
    let byCreds = this.warmedAt.get(endpoint);
    if (!byCreds) this.warmedAt.set(endpoint, (byCreds = new WeakMap()));
    const last = byCreds.get(creds);
    if (last !== undefined && now - last < WARM_RETRY_MS) return;
    byCreds.set(creds, now);
    const key = this.keyOf(creds, endpoint);
    const usable = (this.entries.get(key) ?? []).some((e) => !e.session.closed && !e.session.destroyed && now < e.peerNotAfterMs && (e.creds === creds || e.creds.certChainPem === creds.certChainPem));
    if (usable) return;
    const tls = this.contexts.clientContextFor(snapshot, creds, endpoint.spiffeId.trustDomain);
    if (tls.kind === 'refuse') return;
    const entry = this.open(key, snapshot, creds, endpoint, tls.context, tls.trustKey);
    this.entries.set(key, [...(this.entries.get(key) ?? []), entry]);
  }

  private keyOf(creds: WorkloadCredentials, endpoint: Endpoint): string {
    return `${creds.spiffeId.toString()}|${endpoint.spiffeId.toString()}|${endpoint.sni}|${formatSocketAddress(endpoint.dial)}`;
  }

  /** Gives back a slot acquire() reserved when no stream was opened on it. */
  release(entry: PoolEntry): void {
    entry.streams = Math.max(0, entry.streams - 1);
    entry.lastUsedMs = this.ctx.now();
  }

  /**
   * Sessions dialled to one of these addresses, whose path the gateway probes
   * have just found cut: a session still connecting is closed at once (its
   * waiting calls fail over); a connected one must answer a PING within
   * 3 × its path's RTT + 100 ms (300 ms to 1 s) or is closed, so its streams
   * fail and go to the next path instead of waiting out a 15 s keepalive; one
   * whose busy ping (sent while it carries streams) has already gone
   * unanswered that long is closed at once. A
   * session that answers stays: the probes' verdict can be wrong (a gateway
   * too busy to answer in time), and closing a working session would break
   * requests that cannot be retried. Returns how many sessions were checked.
   */
  dropDials(dials: ReadonlySet<string>): number {
    let n = 0;
    for (const entry of [...this.entries.values()].flat()) {
      if (!dials.has(entry.dial)) continue;
      n++;
      const cut = (): void => {
        entry.session.destroy(new EntenteError('PATH_UNREACHABLE', `the path through ${entry.dial} is unreachable (gateway probes; no answer to a ping)`));
      };
      const bound = cutPingBoundMs(this.rtt.get(entry.path));
      if (cutVerdict(entry, this.ctx.now(), bound) === 'close') {
        cut();
        continue;
      }
      const timer = setTimeout(cut, bound);
      timer.unref();
      try {
        const sent = entry.session.ping((err) => {
          if (!err) clearTimeout(timer);
        });
        if (!sent) cut();
      } catch {
        clearTimeout(timer);
        cut();
      }
    }
    return n;
  }

  /** Measured round trip to a path ("region", or "region>via" when relayed), ms; undefined before the first answered ping. */
  rttMs(region: string): number | undefined {
    return this.rtt.get(region);
  }

  private recordRtt(region: string, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const prev = this.rtt.get(region);
    // A light EWMA: one slow ping does not reorder regions, a lasting change does within a few.
    this.rtt.set(region, prev === undefined ? ms : prev * 0.7 + ms * 0.3);
  }

  /** Number of pooled sessions (connected or connecting). */
  size(): number {
    let n = 0;
    for (const list of this.entries.values()) n += list.length;
    return n;
  }

  private reserve(entry: PoolEntry): AcquireResult {
    entry.streams++;
    entry.lastUsedMs = this.ctx.now();
    return { kind: 'ok', entry };
  }

  /** Removes a session from its key's list (it takes no new streams). */
  private forget(entry: PoolEntry): void {
    const list = this.entries.get(entry.key);
    if (!list) return;
    const rest = list.filter((e) => e !== entry);
    if (rest.length === 0) this.entries.delete(entry.key);
    else if (rest.length !== list.length) this.entries.set(entry.key, rest);
  }

  private retire(entry: PoolEntry, why: string): void {
    this.forget(entry);
    if (!entry.session.closed && !entry.session.destroyed) {
      this.ctx.log.debug({ peer: entry.key, why }, 'draining pooled session');
      entry.session.close();
    }
  }

  private open(key: string, snapshot: DataplaneSnapshot, creds: WorkloadCredentials, endpoint: Endpoint, context: import('node:tls').SecureContext, trustKey: string): PoolEntry {
    const { ctx } = this;
    const dial = formatSocketAddress(endpoint.dial);
    let settle!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    ready.catch(() => undefined);
    let socket: TLSSocket | undefined;
    let identityError: Error | undefined;
    let peerNotAfterMs = Number.POSITIVE_INFINITY;
    const session = h2connect(`https://${dial}`, {
      settings: h2Settings(ctx.tuning),
      maxSessionMemory: 256,
      createConnection: () => {
        socket = tlsConnect({
          host: endpoint.dial.host,
          port: endpoint.dial.port,
          servername: endpoint.sni,
          secureContext: context,
          ALPNProtocols: MESH_ALPN,
          // The peer must be exactly the endpoint's identity, chained to its own trust domain.
          checkServerIdentity: (_host, cert) => {
            const v = verifyX509SvidChain(chainFromPeerCertificate(cert), snapshot, ctx.now());
            if (v.kind === 'valid') peerNotAfterMs = v.notAfter.getTime();
            if (v.kind === 'invalid') identityError = new EntenteError('PEER_SVID_INVALID', `${dial} presented an invalid SVID: ${v.reason}`);
            else if (!v.spiffeId.equals(endpoint.spiffeId)) {
              identityError = new EntenteError('PEER_IDENTITY_MISMATCH', `${dial} (sni ${endpoint.sni}) presented ${v.spiffeId}, expected ${endpoint.spiffeId}`, {
                hint: 'the route points at the wrong agent, or a gateway forwarded the server name to the wrong node',
              });
            }
            return identityError;
          },
        });
        socket.setNoDelay(true);
        socket.setTimeout(ctx.tuning.connectTimeoutMs, () => {
          socket?.destroy(new EntenteError('DIAL_TIMEOUT', `TLS to ${dial} and the peer's HTTP/2 SETTINGS did not complete within ${ctx.tuning.connectTimeoutMs} ms`));
        });
        return socket;
      },
    });
    const entry: PoolEntry = { key, dial, path: pathKey(endpoint.region, endpoint.via), session, creds, trustKey, connected: false, peerNotAfterMs: Number.POSITIVE_INFINITY, streams: 0, open: 0, lastUsedMs: ctx.now(), busyPingSentAt: undefined, busyPinger: undefined, ready };
    this.all.add(session);
    let pinger: NodeJS.Timeout | undefined;
    // Connected means: handshake done AND the peer's SETTINGS known, so the
    // streams waiting on `ready` see its real stream limit (hasRoom) instead of
    // being refused by a peer with a lower one.
    let transportUp = false;
    let settingsKnown = false;
    session.once('remoteSettings', () => {
      settingsKnown = true;
      up();
    });
    session.on('connect', () => {
      transportUp = true;
      up();
    });
    const up = (): void => {
      if (!transportUp || !settingsKnown || entry.connected) return;
      socket?.setTimeout(0);
      entry.connected = true;
      entry.peerNotAfterMs = peerNotAfterMs;
      pinger = this.keepalive(entry, dial, pathKey(endpoint.region, endpoint.via));
      // One ping at once, so a region's RTT is known from its first session rather than after keepaliveMs.
      try {
        session.ping((err, ms) => {
          if (!err) this.recordRtt(pathKey(endpoint.region, endpoint.via), ms);
        });
      } catch {
        /* closing */
      }
      ctx.metrics.poolSessions.inc();
      ctx.metrics.tlsSessions.inc({ side: 'client' });
      try {
        session.setLocalWindowSize(ctx.tuning.sessionWindowBytes);
      } catch {
        /* session already going away */
      }
      settle();
    };
    session.on('error', (err) => {
      if (!entry.connected) {
        const cause = identityError ?? err;
        ctx.metrics.handshakeFailures.inc({ reason: identityError ? 'peer_identity' : handshakeFailureReason(err) });
        ctx.refusals.warn('peer_dial_failed', { peer: dial, sni: endpoint.sni, err: describeError(cause) }, 'cannot open mTLS session to peer agent');
        settle(
          new EntenteError('DIAL_FAILED', `mTLS session to ${dial} (sni ${endpoint.sni}) failed: ${describeError(cause)}`, {
            cause,
            hint: 'check that the peer agent (or the gateway) listens on that address and trusts this region',
          }),
        );
      } else {
        ctx.log.debug({ peer: dial, err: describeError(err) }, 'pooled session error');
      }
    });
    session.on('goaway', () => this.forget(entry));
    session.on('close', () => {
      clearInterval(pinger);
      clearInterval(entry.busyPinger);
      this.forget(entry);
      this.all.delete(session);
      if (entry.connected) ctx.metrics.poolSessions.dec();
      else settle(new EntenteError('DIAL_FAILED', `mTLS session to ${dial} closed before it was established${identityError ? `: ${identityError.message}` : ''}`));
    });
    return entry;
  }

  /**
   * Whether one more stream fits once the session is connected: slots reserved
   * while connecting assumed our own limit, and a peer may allow fewer.
   */
  hasRoom(entry: PoolEntry): boolean {
    return entry.open < sessionCapacity(entry, this.ctx.tuning.maxStreamsPerSession);
  }

  /** Holds the slot acquire() reserved until the stream opened on it closes. */
  track(entry: PoolEntry, stream: { once(event: 'close', fn: () => void): unknown }): void {
    entry.open++;
    if (entry.open === 1) this.startBusyPings(entry);
    stream.once('close', () => {
      entry.open--;
      this.release(entry);
    });
  }

  /**
   * While the session carries streams: a PING every busyPingMs, one
   * outstanding at a time, so dropDials knows at once whether the session
   * still answers, and the path's RTT stays current under load. Stops by
   * itself at the first tick without streams.
   */
  private startBusyPings(entry: PoolEntry): void {
    const every = this.ctx.tuning.busyPingMs;
    if (!(every > 0) || entry.busyPinger !== undefined || !entry.connected) return;
    const tick = (): void => {
      const { session } = entry;
      if (entry.open === 0 || session.destroyed || session.closed) {
        clearInterval(entry.busyPinger);
        entry.busyPinger = undefined;
        return;
      }
      if (entry.busyPingSentAt !== undefined) return;
      const sentAt = this.ctx.now();
      try {
        const sent = session.ping((err, ms) => {
          if (entry.busyPingSentAt === sentAt) entry.busyPingSentAt = undefined;
          if (!err) this.recordRtt(entry.path, ms);
        });
        if (sent) entry.busyPingSentAt = sentAt;
      } catch {
        /* session closing */
      }
    };
    entry.busyPinger = setInterval(tick, every);
    entry.busyPinger.unref();
  }

  /**
   * Once per keepalive interval: a session without streams for idleSessionMs
   * is closed. Otherwise HTTP/2 PINGs notice a peer that vanished without a FIN (host down, path
   * cut): an unanswered ping after one interval destroys the session, so its
   * streams fail and the next app connection reconnects.
   */
  private keepalive(entry: PoolEntry, dial: string, region: string): NodeJS.Timeout | undefined {
    const every = this.ctx.tuning.keepaliveMs;
    if (!(every > 0)) return undefined;
    let outstanding = false;
    const timer = setInterval(() => {
      const { session } = entry;
      if (session.destroyed || session.closed) return;
      if (entry.streams === 0 && this.ctx.now() - entry.lastUsedMs >= this.ctx.tuning.idleSessionMs) {
        this.retire(entry, 'idle');
        return;
      }
      if (outstanding) {
        this.ctx.refusals.warn('peer_unresponsive', { peer: dial }, `peer agent did not answer a ping within ${every} ms; dropping the session`);
        session.destroy(new EntenteError('PEER_UNRESPONSIVE', `${dial} did not answer a ping within ${every} ms`));
        return;
      }
      outstanding = true;
      try {
        session.ping((err, ms) => {
          if (err) return;
          outstanding = false;
          this.recordRtt(region, ms);
        });
      } catch {
        /* session closing */
      }
    }, every);
    timer.unref();
    return timer;
  }

  /** Tears every session down, in-flight streams included. */
  close(): void {
    this.closed = true;
    for (const s of this.all) s.destroy();
    this.entries.clear();
  }
}
