// Several BGP sessions sharing one desired route set. The speaker keeps, per
// session, what it has sent (Adj-RIB-Out) and sends only the difference when
// the desired set changes; after a session reset everything is re-announced.
import type { Logger } from '../../core/log.js';
import type { Clock } from '../clock.js';
import { type Announcement, announcementFingerprint, announcementKey, buildAnnounceUpdate, buildWithdrawUpdates, endOfRib } from './route.js';
import { BgpSession, type PeerEndpoint, type SessionEvent } from './bgp-session.js';
import type { FsmConfig, SessionState } from './session-fsm.js';
import type { Prefix } from './prefix.js';

export interface PeerSpec {
  readonly name: string;
  readonly endpoint: PeerEndpoint;
  readonly fsm: FsmConfig;
}

export interface PeerStatus {
  readonly name: string;
  readonly peer: string;
  readonly peerAs: number;
  readonly state: SessionState;
  readonly since: number;
  readonly holdTime: number | undefined;
  readonly keepaliveMs: number | undefined;
  readonly lastError: string | undefined;
  readonly establishedCount: number;
  readonly updatesSent: number;
  readonly updatesReceived: number;
  readonly announced: readonly string[];
}

export type SpeakerEvent =
  | { readonly kind: 'session-up'; readonly peer: string }
  | { readonly kind: 'session-down'; readonly peer: string; readonly reason: string }
  | { readonly kind: 'updates-sent'; readonly peer: string; readonly announced: number; readonly withdrawn: number };

interface PeerRuntime {
  readonly spec: PeerSpec;
  readonly session: BgpSession;
  /** prefix key -> what the peer currently has from us (Adj-RIB-Out). */
  readonly out: Map<string, { readonly fingerprint: string; readonly prefix: Prefix }>;
  lastError: string | undefined;
  establishedCount: number;
  updatesSent: number;
  updatesReceived: number;
  /** Serialises sends so a diff never interleaves with another. */
  chain: Promise<void>;
}

export class BgpSpeaker {
  private readonly peers: PeerRuntime[];
  private desired: readonly Announcement[] = [];

  constructor(specs: readonly PeerSpec[], clock: Clock, private readonly log: Logger, private readonly onEvent: (e: SpeakerEvent) => void = () => {}) {
    this.peers = specs.map((spec) => {
      const rt: PeerRuntime = {
        spec, out: new Map(), lastError: undefined, establishedCount: 0, updatesSent: 0, updatesReceived: 0, chain: Promise.resolve(),
        session: new BgpSession({ fsm: spec.fsm, peer: spec.endpoint, clock, log, onEvent: (e) => this.onSessionEvent(rt, e) }),
      };
      return rt;
    });
  }

  start(): void {
    for (const p of this.peers) p.session.start();
  }

  /** Replaces the desired route set; resolves when every established peer has been sent the difference. */
  async setRoutes(routes: readonly Announcement[]): Promise<void> {
    this.desired = routes;
    await Promise.all(this.peers.map((p) => this.enqueueSync(p, false)));
  }

  get routes(): readonly Announcement[] {
    return this.desired;
  }

  /** Withdraws everything, then closes every session with Cease. */
  async stop(): Promise<void> {
    await this.setRoutes([]);
    await Promise.all(this.peers.map((p) => p.session.stop()));
  }

  status(): PeerStatus[] {
    return this.peers.map((p) => {
      const n = p.session.negotiated;
      return {
        name: p.spec.name,
        peer: `${p.spec.endpoint.host}:${p.spec.endpoint.port}`,
        peerAs: p.spec.fsm.peerAs,
        state: p.session.state,
        since: p.session.since,
        holdTime: n?.holdTime,
        keepaliveMs: n?.keepaliveMs,
        lastError: p.lastError,
        establishedCount: p.establishedCount,
        updatesSent: p.updatesSent,
        updatesReceived: p.updatesReceived,
        announced: [...p.out.keys()].sort(),
      };
    });
  }

  private enqueueSync(p: PeerRuntime, initial: boolean): Promise<void> {
    p.chain = p.chain.then(() => this.sync(p, initial)).catch((err: unknown) => {
      this.log.warn({ peer: p.spec.name, err }, 'sending UPDATE failed');
    });
    return p.chain;
  }

  private async sync(p: PeerRuntime, initial: boolean): Promise<void> {
    const s = p.session;
    if (s.state !== 'established') return;
    const n = s.negotiated!;
    const ctx = { localAs: p.spec.fsm.localAs, peerAs: n.peerAs, localAddress: s.localAddress };
    const want = new Map(this.desired.map((a) => [announcementKey(a), a]));
    const gone = [...p.out.keys()].filter((k) => !want.has(k));
    const withdrawPrefixes = gone.map((k) => p.out.get(k)!.prefix);
    let announced = 0;
    // Withdraw first: a moving prefix is never briefly announced twice.
    for (const u of buildWithdrawUpdates(withdrawPrefixes)) await s.send(u);
    for (const k of gone) p.out.delete(k);
    for (const [k, a] of want) {
      if (s.state !== 'established') return;
      const fp = announcementFingerprint(a);
      if (p.out.get(k)?.fingerprint === fp) continue;
      await s.send(buildAnnounceUpdate(a, ctx));
      p.out.set(k, { fingerprint: fp, prefix: a.prefix });
      announced++;
    }
    if (initial) for (const f of p.spec.fsm.families) await s.send(endOfRib(f));
    p.updatesSent += announced + (withdrawPrefixes.length > 0 ? 1 : 0);
    if (announced > 0 || gone.length > 0) this.onEvent({ kind: 'updates-sent', peer: p.spec.name, announced, withdrawn: gone.length });
  }

  private onSessionEvent(p: PeerRuntime, e: SessionEvent): void {
    switch (e.kind) {
      case 'established':
        p.establishedCount++;
        p.out.clear();
        this.log.info({ peer: p.spec.name, holdTime: e.negotiated.holdTime, peerAs: e.negotiated.peerAs }, 'BGP session established');
        this.onEvent({ kind: 'session-up', peer: p.spec.name });
        void this.enqueueSync(p, true);
        break;
      case 'down':
        p.out.clear();
        p.lastError = e.reason;
        if (e.wasEstablished || p.establishedCount === 0) this.log.warn({ peer: p.spec.name, reason: e.reason }, 'BGP session down');
        this.onEvent({ kind: 'session-down', peer: p.spec.name, reason: e.reason });
        break;
      case 'received':
        p.updatesReceived++;
        if (e.message.type === 'route-refresh') {
          // RFC 2918: the peer lost what we sent; send it all again.
          p.out.clear();
          void this.enqueueSync(p, true);
        }
        break;
    }
  }
}
