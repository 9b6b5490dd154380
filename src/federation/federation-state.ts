// What this controller knows of other regions: the newest signed state of each
// configured region (single writer per region, so "highest version wins" never
// conflicts), whoever relayed it, kept on disk — the JWS itself, so a
// controller restarted during a partition still routes to, authenticates, and
// relays the regions it cannot reach.
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { formatSocketAddress } from '../core/address.js';
import type { RegionState, RemoteRegion } from '../mesh/mesh-config.js';
import { toWireBundle, type WireBundle } from '../mesh/wire-bundle.js';
import { SignerCache } from '../identity/region-state.js';
import { acceptBundleUpdate, bundleFromDocument, bundleToJson, parseBundleJson, type BundleUpdateDecision, type TrustBundle } from '../identity/trust-bundle.js';
import type { PeerConfig } from '../controller/controller-config.js';
import { chooseAnchor, decideOffer, newerBundle, parseRegionStatePayload, type HeldRegionState, type OfferDecision } from './signed-state.js';
import { StateFeed, type FeedAnswer } from './state-feed.js';

interface StoredState {
  readonly jws: string;
  readonly signedAt: number;
  readonly via: string;
  readonly receivedAt: number;
}

export interface FederationStateOptions {
  readonly dir: string;
  readonly ownRegion: string;
  readonly peers: readonly PeerConfig[];
  readonly staleAfterMs: number;
  /** Past this age a region's services and gateways are withheld (default: never). */
  readonly expireAfterMs?: number;
  readonly now?: () => number;
  /** The state feed's epoch (default: random per process, which is what peers' cursors rely on); for tests. */
  readonly feedEpoch?: string;
}

/** An operator's replaced bootstrap bundle file is read within this long. */
export const BOOTSTRAP_REREAD_MS = 2000;

export class FederationState {
  private readonly held = new Map<string, HeldRegionState>();
  /** The JWS of each held state -> its region: the same state relayed again by another peer is known without parsing it. */
  private readonly heldJws = new Map<string, string>();
  /** Bundles fetched from peers' SPIFFE bundle endpoints (authenticated by the bundle held before). */
  private readonly endpointBundles = new Map<string, TrustBundle>();
  private readonly bootstrapCache = new Map<string, { text: string; bundle: TrustBundle | undefined; readAt: number }>();
  private readonly now: () => number;
  /** Wire form per bundle object: converting parses every X.509 authority, and the controller asks for every peer's on each recompute. */
  private readonly wireCache = new WeakMap<TrustBundle, WireBundle>();
  /** Looked up for every offered state: a Map, not a scan of the peer list. */
  private readonly peers: ReadonlyMap<string, PeerConfig>;
  /** What we serve to peers (our own state and every one we hold), as a change feed for delta pulls. */
  private readonly feed: StateFeed;
  /** Signer chains that verified: a region's re-signs then cost one signature check. */
  readonly signers = new SignerCache();

  constructor(private readonly opts: FederationStateOptions) {
    this.now = opts.now ?? Date.now;
    this.peers = new Map(opts.peers.map((p) => [p.region, p]));
    this.feed = new StateFeed(opts.feedEpoch);
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(opts.dir).filter((n) => n.endsWith('.json'))) {
      const h = this.load(join(opts.dir, f));
      if (h) this.hold(h);
    }
    mkdirSync(this.endpointDir, { recursive: true, mode: 0o700 });
    for (const p of opts.peers) {
      try {
        this.endpointBundles.set(p.region, parseBundleJson(readFileSync(join(this.endpointDir, `${p.region}.json`), 'utf8'), p.trustDomain));
      } catch {
        /* none fetched yet */
      }
    }
  }

  private get endpointDir(): string {
    return join(this.opts.dir, 'endpoint-bundles');
  }

  /** Our own files, written by us: decoded, not re-verified. Files of the unsigned format, or of regions no longer configured, are skipped. */
  private load(path: string): HeldRegionState | undefined {
    try {
      const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredState>;
      if (typeof s.jws !== 'string' || typeof s.signedAt !== 'number') return undefined;
      const payload = JSON.parse(Buffer.from(s.jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
      const state = parseRegionStatePayload(payload);
      if (typeof state === 'string') return undefined;
      const peer = this.peer(state.region);
      if (!peer || peer.trustDomain !== state.trustDomain) return undefined;
      return { jws: s.jws, state, bundle: bundleFromDocument(state.bundle, peer.trustDomain), signedAt: s.signedAt, via: s.via ?? state.region, receivedAt: s.receivedAt ?? s.signedAt };
    } catch {
      return undefined;
    }
  }

  private peer(region: string): PeerConfig | undefined {
    return this.peers.get(region);
  }

  /** The operator's bootstrap bundle file for `region`, parsed strictly; re-read so an operator can replace it. */
  bootstrapBundle(region: string): TrustBundle | undefined {
    const p = this.peer(region);
    if (!p) return undefined;
    const cached = this.bootstrapCache.get(region);
    const now = this.now();
    // Every recompute asks for every peer's anchor: the file is read again at most every BOOTSTRAP_REREAD_MS.
    if (cached && now - cached.readAt < BOOTSTRAP_REREAD_MS && now >= cached.readAt) return cached.bundle;
    let text: string;
    try {
      text = readFileSync(p.bundle, 'utf8');
    } catch {
      this.bootstrapCache.delete(region);
      return undefined;
    }
    if (cached?.text === text) {
      cached.readAt = now;
      return cached.bundle;
    }
    let bundle: TrustBundle | undefined;
    try {
      bundle = parseBundleJson(text, p.trustDomain);
    } catch {
      bundle = undefined;
    }
    this.bootstrapCache.set(region, { text, bundle, readAt: now });
    return bundle;
  }

  /** The bundle that authenticates `region` now: its newest verified one, or the bootstrap file (first contact, or a newer operator override). */
  anchor(region: string): TrustBundle | undefined {
    return chooseAnchor(newerBundle(this.held.get(region)?.bundle, this.endpointBundles.get(region)), this.bootstrapBundle(region));
  }

  /**
   * A bundle fetched from `region`'s bundle endpoint, whose server was
   * authenticated against anchor(region): kept (and persisted) when its sequence grows.
   */
  offerBundle(region: string, bundle: TrustBundle): BundleUpdateDecision {
    const p = this.peer(region);
    if (!p || bundle.trustDomain !== p.trustDomain) {
      return { kind: 'reject', code: 'TRUST_DOMAIN_MISMATCH', reason: `bundle of ${bundle.trustDomain} is not the bundle of region ${region}` };
    }
    const d = acceptBundleUpdate(this.anchor(region), bundle);
    if (d.kind === 'accept') {
      this.endpointBundles.set(region, bundle);
      writeFileAtomicSync(join(this.endpointDir, `${region}.json`), bundleToJson(bundle), 0o600);
    }
    return d;
  }

  anchorDocument(region: string): WireBundle | undefined {
    const b = this.anchor(region);
    if (!b) return undefined;
    let w = this.wireCache.get(b);
    if (!w) {
      w = toWireBundle(b);
      this.wireCache.set(b, w);
    }
    return w;
  }

  private hold(h: HeldRegionState): void {
    const region = h.state.region;
    const prev = this.held.get(region);
    if (prev) this.heldJws.delete(prev.jws);
    this.held.set(region, h);
    this.heldJws.set(h.jws, region);
    // A refresh is a change too: peers measure the region's age from the newest signature.
    this.feed.put(region, h.jws);
  }

  /** Offers a signed state received from peer region `via`; keeps it only if it verifies and is newer (or fresher). */
  offer(jws: string, via: string): OfferDecision {
    // With fan-out k, each new signature arrives from up to k peers; all but the first are this lookup.
    const known = this.heldJws.get(jws);
    if (known !== undefined) return { kind: 'unchanged', region: known };
    const d = decideOffer({
      jws,
      via,
      ownRegion: this.opts.ownRegion,
      peerFor: (r) => this.peer(r),
      held: (r) => this.held.get(r),
      anchor: (r) => this.anchor(r),
      now: this.now(),
      signers: this.signers,
    });
    if (d.kind === 'accept' || d.kind === 'refresh') {
      this.hold(d.held);
      // Persist new versions; a fresher signature of the same version only matters while we run.
      if (d.kind === 'accept') {
        const stored: StoredState = { jws: d.held.jws, signedAt: d.held.signedAt, via: d.held.via, receivedAt: d.held.receivedAt };
        writeFileAtomicSync(join(this.opts.dir, `${d.held.state.region}.json`), JSON.stringify(stored), 0o600);
      }
    }
    return d;
  }

  stateOf(region: string): RegionState | undefined {
    return this.held.get(region)?.state;
  }

  heldOf(region: string): HeldRegionState | undefined {
    return this.held.get(region);
  }

  /** Our own region's newest signed state (from the StateSigner): served to peers with the others. */
  putOwn(jws: string): void {
    this.feed.put(this.opts.ownRegion, jws);
  }

  /** What a peer pulling with `cursor`/`epoch` is sent: the changes since, or everything (ours first). */
  changesSince(cursor: number | undefined, epoch: string | undefined): FeedAnswer {
    return this.feed.since(cursor, epoch, this.opts.ownRegion);
  }

  /** Age of a region's newest state, from its origin's signing time (our clock; never negative). */
  ageMs(region: string): number | undefined {
    const h = this.held.get(region);
    return h ? Math.max(0, this.now() - h.signedAt) : undefined;
  }

  remoteRegions(): RemoteRegion[] {
    return this.opts.peers.map((p) => {
      const h = this.held.get(p.region);
      const age = this.ageMs(p.region);
      // Expired: we keep the state (it still anchors the region's bundle and is relayed) but route nothing there.
      const expired = age !== undefined && this.opts.expireAfterMs !== undefined && age > this.opts.expireAfterMs;
      const live = expired ? undefined : h;
      const advertised = live?.state.gateways[0];
      return {
        region: p.region,
        trustDomain: p.trustDomain,
        gateway: !expired && p.gatewayAddress ? formatSocketAddress(p.gatewayAddress) : advertised,
        // Every gateway the region advertises carries traffic (an operator override names one).
        gateways: !expired && p.gatewayAddress ? [formatSocketAddress(p.gatewayAddress)] : [...(live?.state.gateways ?? [])],
        exportedServices: live?.state.exportedServices ?? [],
        ageMs: age ?? -1,
        stale: age === undefined || age > this.opts.staleAfterMs,
        ...(expired ? { expired: true } : {}),
      };
    });
  }
}
