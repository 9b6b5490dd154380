// The trust bundles a process currently honours, one per trust domain (never
// merged: Federation 4.2), as a BundleSource for SVID verification. Every
// change is an event, so the data plane can re-verify or drain connections
// whose authority was removed.
import { X509Certificate } from 'node:crypto';
import { acceptBundleUpdate, type BundleUpdateDecision, type TrustBundle } from './trust-bundle.js';
import type { BundleSource } from './verify-svid.js';
import type { TrustDomain } from './spiffe-id.js';

export interface BundleUpdateEvent {
  readonly trustDomain: TrustDomain;
  /** undefined when the trust domain is new. */
  readonly previous: TrustBundle | undefined;
  /** undefined when the trust domain was removed (federation ended). */
  readonly next: TrustBundle | undefined;
  /** PEM authorities no longer trusted: peers chaining to them must be re-verified. */
  readonly removedAuthorities: readonly string[];
  readonly addedAuthorities: readonly string[];
}

export type BundleListener = (e: BundleUpdateEvent) => void;

const norm = (pem: string) => pem.replace(/\s+/g, '');

export class BundleStore implements BundleSource {
  private readonly bundles = new Map<TrustDomain, { bundle: TrustBundle; certs: X509Certificate[] }>();
  private readonly listeners = new Set<BundleListener>();

  constructor(
    initial: Iterable<TrustBundle> = [],
    private readonly onListenerError: (err: unknown) => void = () => undefined,
  ) {
    for (const b of initial) this.install(b);
  }

  authoritiesFor(trustDomain: TrustDomain): readonly X509Certificate[] | undefined {
    return this.bundles.get(trustDomain)?.certs;
  }

  get(trustDomain: TrustDomain): TrustBundle | undefined {
    return this.bundles.get(trustDomain)?.bundle;
  }

  trustDomains(): TrustDomain[] {
    return [...this.bundles.keys()];
  }

  all(): TrustBundle[] {
    return [...this.bundles.values()].map((e) => e.bundle);
  }

  /** Applies `next` if acceptBundleUpdate allows it (its sequence must grow); returns the decision. */
  update(next: TrustBundle): BundleUpdateDecision {
    const decision = acceptBundleUpdate(this.get(next.trustDomain), next);
    if (decision.kind === 'accept') this.install(next);
    return decision;
  }

  /** Operator override (Federation 4.2: operators MAY update a bundle locally): no sequence check. */
  replace(next: TrustBundle): void {
    this.install(next);
  }

  /** Forgets a trust domain: its SVIDs become UNKNOWN_TRUST_DOMAIN. */
  remove(trustDomain: TrustDomain): boolean {
    const prev = this.bundles.get(trustDomain);
    if (!prev) return false;
    this.bundles.delete(trustDomain);
    this.emit({ trustDomain, previous: prev.bundle, next: undefined, removedAuthorities: prev.bundle.x509Authorities, addedAuthorities: [] });
    return true;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onUpdate(listener: BundleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private install(next: TrustBundle): void {
    // Parse once here: verification runs per handshake and must not re-parse PEM.
    const certs = next.x509Authorities.map((p) => new X509Certificate(p));
    const prev = this.bundles.get(next.trustDomain)?.bundle;
    this.bundles.set(next.trustDomain, { bundle: next, certs });
    const before = new Set((prev?.x509Authorities ?? []).map(norm));
    const after = new Set(next.x509Authorities.map(norm));
    this.emit({
      trustDomain: next.trustDomain,
      previous: prev,
      next,
      removedAuthorities: (prev?.x509Authorities ?? []).filter((p) => !after.has(norm(p))),
      addedAuthorities: next.x509Authorities.filter((p) => !before.has(norm(p))),
    });
  }

  private emit(e: BundleUpdateEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        // A failing subscriber must not stop others from hearing about a revocation.
        this.onListenerError(err);
      }
    }
  }
}
