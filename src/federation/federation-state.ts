// What this controller knows of other regions: the newest state each peer
// region published (single writer per region, so "highest version wins" never
// conflicts), kept on disk so a controller restarted during a partition still
// routes to, and authenticates, the regions it cannot reach.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { formatSocketAddress } from '../core/address.js';
import type { RegionState, RemoteRegion } from '../mesh/mesh-config.js';
import type { WireBundle } from '../mesh/wire-bundle.js';
import type { PeerConfig } from '../controller/controller-config.js';

interface HeldState {
  readonly state: RegionState;
  /** When we last confirmed this version with its origin (ms since epoch). */
  lastSyncedAt: number;
}

export type StateOffer = { kind: 'accepted' } | { kind: 'unchanged' } | { kind: 'rejected'; reason: string };

export class FederationState {
  private readonly held = new Map<string, HeldState>();

  constructor(
    private readonly dir: string,
    private readonly peers: readonly PeerConfig[],
    private readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (existsSync(dir)) {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        const h = JSON.parse(readFileSync(join(dir, f), 'utf8')) as HeldState;
        if (this.peers.some((p) => p.region === h.state.region)) this.held.set(h.state.region, h);
      }
    }
  }

  /** Offers a state received from a peer; keeps it only if newer. */
  offer(state: RegionState): StateOffer {
    const peer = this.peers.find((p) => p.region === state.region);
    if (!peer) return { kind: 'rejected', reason: `region ${state.region} is not a configured peer` };
    if (state.trustDomain !== peer.trustDomain) {
      return { kind: 'rejected', reason: `region ${state.region} claims trust domain ${state.trustDomain}, configured ${peer.trustDomain}` };
    }
    const cur = this.held.get(state.region);
    if (cur && state.version <= cur.state.version) {
      cur.lastSyncedAt = this.now();
      return { kind: 'unchanged' };
    }
    const h: HeldState = { state, lastSyncedAt: this.now() };
    this.held.set(state.region, h);
    writeFileAtomicSync(join(this.dir, `${state.region}.json`), JSON.stringify(h), 0o600);
    return { kind: 'accepted' };
  }

  stateOf(region: string): RegionState | undefined {
    return this.held.get(region)?.state;
  }

  lastSyncedAt(region: string): number | undefined {
    return this.held.get(region)?.lastSyncedAt;
  }

  /** Bundles of federated trust domains: the newest published one, else nothing yet (bootstrap is read by the caller). */
  publishedBundle(region: string): WireBundle | undefined {
    return this.held.get(region)?.state.bundle;
  }

  remoteRegions(): RemoteRegion[] {
    const now = this.now();
    return this.peers.map((p) => {
      const h = this.held.get(p.region);
      const ageMs = h ? now - h.lastSyncedAt : Number.POSITIVE_INFINITY;
      const advertised = h?.state.gateways[0];
      return {
        region: p.region,
        trustDomain: p.trustDomain,
        gateway: p.gatewayAddress ? formatSocketAddress(p.gatewayAddress) : advertised,
        exportedServices: h?.state.exportedServices ?? [],
        ageMs: Number.isFinite(ageMs) ? ageMs : -1,
        stale: !h || ageMs > this.staleAfterMs,
      };
    });
  }
}
