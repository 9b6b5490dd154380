// Follows the bundles of peers that publish a SPIFFE Federation bundle endpoint
// (https_spiffe): another Entente controller, or any SPIFFE implementation
// such as SPIRE. The endpoint server is authenticated against the bundle we
// already hold for that trust domain, so each new bundle is vouched for by a
// key of the previous one, as with signed region states.
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { fetchBundleHttpsSpiffe } from '../identity/bundle-endpoint.js';
import { parseTrustDomain } from '../identity/spiffe-id.js';
import type { PeerConfig } from '../controller/controller-config.js';
import type { FederationState } from './federation-state.js';

export interface BundlePollerOptions {
  readonly peers: readonly PeerConfig[];
  readonly state: FederationState;
  /** Fixed poll interval; default: the held bundle's refresh hint. */
  readonly intervalMs?: number;
  readonly log: Logger;
  /** A newer bundle of `region` was accepted. */
  readonly onAccepted: (region: string) => void;
  readonly timeoutMs?: number;
}

export interface BundleEndpointStatus {
  region: string;
  url: string;
  lastFetchAt?: string;
  lastError?: string;
  /** spiffe_sequence of the last bundle fetched (as a string: it is a 64-bit integer). */
  lastSequence?: string;
}

/** Never poll more often than this, whatever the hint says (a hint of 0 must not spin). */
const MIN_INTERVAL_MS = 1000;

export class BundlePoller {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly statuses = new Map<string, BundleEndpointStatus>();
  private stopped = false;

  constructor(private readonly opts: BundlePollerOptions) {
    for (const p of opts.peers) if (p.bundleEndpoint) this.statuses.set(p.region, { region: p.region, url: p.bundleEndpoint.url });
  }

  start(): void {
    for (const p of this.opts.peers) if (p.bundleEndpoint) void this.loop(p);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  status(region: string): BundleEndpointStatus | undefined {
    const s = this.statuses.get(region);
    return s ? { ...s } : undefined;
  }

  private async loop(peer: PeerConfig): Promise<void> {
    while (!this.stopped) {
      await this.pollOnce(peer).catch((err: unknown) => this.opts.log.error({ peer: peer.region, err: describeError(err) }, 'federation loop step failed; retrying next interval'));
      const hintMs = (this.opts.state.anchor(peer.region)?.refreshHintSeconds ?? 300) * 1000;
      const delay = Math.max(MIN_INTERVAL_MS, this.opts.intervalMs ?? hintMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, delay);
        this.timers.add(t);
      });
    }
  }

  async pollOnce(peer: PeerConfig): Promise<void> {
    const ep = peer.bundleEndpoint;
    const st = this.statuses.get(peer.region);
    if (!ep || !st) return;
    st.lastFetchAt = new Date().toISOString();
    const current = this.opts.state.anchor(peer.region);
    try {
      if (!current) throw new Error(`no bundle of ${peer.trustDomain} to authenticate ${ep.url} with (bootstrap file ${peer.bundle} unreadable)`);
      const fetched = await fetchBundleHttpsSpiffe(ep.url, ep.spiffeId, current, { trustDomain: parseTrustDomain(peer.trustDomain), timeoutMs: this.opts.timeoutMs ?? 5000 });
      st.lastSequence = fetched.sequence?.toString();
      const d = this.opts.state.offerBundle(peer.region, fetched);
      if (d.kind === 'reject' && d.code !== 'UNCHANGED') throw new Error(`bundle refused: ${d.code}: ${d.reason}`);
      if (st.lastError) this.opts.log.info({ peer: peer.region, url: ep.url }, 'bundle endpoint answering again');
      delete st.lastError;
      if (d.kind === 'accept') {
        this.opts.log.info({ peer: peer.region, sequence: st.lastSequence }, 'new bundle from the bundle endpoint');
        this.opts.onAccepted(peer.region);
      }
    } catch (err) {
      const msg = describeError(err);
      if (st.lastError !== msg) this.opts.log.warn({ peer: peer.region, url: ep.url, err: msg }, 'bundle endpoint fetch failed; keeping the bundle we hold');
      st.lastError = msg;
    }
  }
}
