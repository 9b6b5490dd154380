// Pulls each peer region's state over mTLS, every pull interval, from every
// configured peer independently (one unreachable peer never delays the others).
// The peer is authenticated against its own trust domain's bundle only: the
// bootstrap bundle the operator supplied, then the newest one it published.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { bundleFromDocument, parseBundleJson } from '../identity/trust-bundle.js';
import { toWireBundle, type WireBundle } from '../mesh/wire-bundle.js';
import type { PeerConfig } from '../controller/controller-config.js';
import type { RegionState } from '../mesh/mesh-config.js';
import type { FederationState } from './federation-state.js';

export interface PeerSyncOptions {
  readonly peers: readonly PeerConfig[];
  readonly state: FederationState;
  readonly intervalMs: number;
  /** Our client credentials (controller SVID). */
  readonly credentials: () => { key: string; cert: string };
  readonly log: Logger;
  readonly onAccepted: (region: string) => void;
  readonly timeoutMs?: number;
}

export interface PeerStatus {
  region: string;
  reachable: boolean;
  lastError?: string;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
}

/** The bundle to authenticate `peer` with: newest published, else the operator's bootstrap file. */
export function peerBundleDocument(peer: PeerConfig, state: FederationState): WireBundle | undefined {
  const published = state.publishedBundle(peer.region);
  if (published) return published;
  try {
    // Strict parse of the operator's file (duplicate keys, exact sequence), then the wire form.
    return toWireBundle(parseBundleJson(readFileSync(peer.bundle, 'utf8'), peer.trustDomain));
  } catch {
    return undefined;
  }
}

export class PeerSync {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly statuses = new Map<string, PeerStatus>();
  private stopped = false;

  constructor(private readonly opts: PeerSyncOptions) {
    for (const p of opts.peers) this.statuses.set(p.region, { region: p.region, reachable: false });
  }

  start(): void {
    for (const peer of this.opts.peers) void this.loop(peer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  status(): PeerStatus[] {
    return [...this.statuses.values()];
  }

  private async loop(peer: PeerConfig): Promise<void> {
    while (!this.stopped) {
      await this.pullOnce(peer);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.intervalMs);
        this.timers.push(t);
      });
      this.timers.splice(0, this.timers.length - this.opts.peers.length);
    }
  }

  async pullOnce(peer: PeerConfig): Promise<void> {
    const st = this.statuses.get(peer.region)!;
    st.lastAttemptAt = new Date().toISOString();
    try {
      const state = await this.fetchState(peer);
      if (state.region !== peer.region) throw new Error(`peer at ${peer.url} answered for region ${state.region}`);
      const offer = this.opts.state.offer(state);
      if (offer.kind === 'rejected') throw new Error(offer.reason);
      if (!st.reachable) this.opts.log.info({ peer: peer.region }, 'peer region reachable');
      st.reachable = true;
      st.lastSuccessAt = new Date().toISOString();
      delete st.lastError;
      if (offer.kind === 'accepted') this.opts.onAccepted(peer.region);
    } catch (err) {
      const msg = describeError(err);
      if (st.reachable || st.lastError !== msg) this.opts.log.warn({ peer: peer.region, err: msg }, 'peer region unreachable; serving from its last known state');
      st.reachable = false;
      st.lastError = msg;
    }
  }

  private fetchState(peer: PeerConfig): Promise<RegionState> {
    const doc = peerBundleDocument(peer, this.opts.state);
    if (!doc) return Promise.reject(new Error(`no bundle for ${peer.trustDomain} yet (bootstrap file ${peer.bundle} unreadable)`));
    const bundle = bundleFromDocument(doc, peer.trustDomain);
    const expected = `spiffe://${peer.trustDomain}/controller`;
    const creds = this.opts.credentials();
    return new Promise((resolve, reject) => {
      const req = request(
        `${peer.url.replace(/\/$/, '')}/v1/federation/state`,
        {
          method: 'GET',
          key: creds.key,
          cert: creds.cert,
          ca: [...bundle.x509Authorities],
          minVersion: 'TLSv1.3',
          agent: false,
          timeout: this.opts.timeoutMs ?? 5000,
          // The peer is named by its SPIFFE ID, not by the host name in the URL.
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            cert.subjectaltname === `URI:${expected}` ? undefined : new Error(`peer presented ${cert.subjectaltname ?? 'no SAN'}, expected ${expected}`),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`peer answered HTTP ${res.statusCode}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as RegionState);
            } catch {
              reject(new Error('peer answered with invalid JSON'));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}
