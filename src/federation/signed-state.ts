// Deciding what to do with a signed region state (compact JWS) received from
// any peer, for any region: pure functions of what we already hold. A state is
// verified against the bundle we hold for ITS region (never the relay's), and
// may carry a new bundle only if that bundle's sequence grows.
import * as z from 'zod';
import { verifyRegionState, verifyRegionStateSignature, type SignerCache } from '../identity/region-state.js';
import { acceptBundleUpdate, bundleFromDocument, sameBundleContent, type TrustBundle } from '../identity/trust-bundle.js';
import { describeError } from '../core/errors.js';
import { SERVICE_PROTOCOLS, type RegionState } from '../mesh/mesh-config.js';

/** A verified state as we keep it: the JWS (relayed byte for byte) and what it says. */
export interface HeldRegionState {
  readonly jws: string;
  readonly state: RegionState;
  /** The bundle the state carries, parsed: the anchor for the region's next states. */
  readonly bundle: TrustBundle;
  /** The origin's signing time (JWS iat, ms): the state's age is measured from it. */
  readonly signedAt: number;
  /** The peer region we got it from (the origin itself when direct). */
  readonly via: string;
  readonly receivedAt: number;
}

export interface UnverifiedClaims {
  readonly region: string;
  readonly version: number;
  readonly signedAt: number;
}

/**
 * What the JWS says about itself, before any check. Only used to pick the
 * bundle to verify with and to skip states that could not change anything.
 */
export function peekClaims(jws: string): UnverifiedClaims | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { iat?: unknown };
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { region?: unknown; version?: unknown };
    if (typeof payload.region !== 'string' || typeof payload.version !== 'number' || typeof header.iat !== 'number') return undefined;
    return { region: payload.region, version: payload.version, signedAt: header.iat };
  } catch {
    return undefined;
  }
}

const workloadSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  service: z.string(),
  serviceAccount: z.string(),
  node: z.string(),
  address: z.string(),
  zone: z.string().optional(),
  // Kept (z.object drops keys it does not list): callers in this region balance by it.
  weight: z.number().int().min(1).max(1000).optional(),
});
const portSchema = z.object({ port: z.number().int(), targetPort: z.number().int(), protocol: z.enum(SERVICE_PROTOCOLS) });
const regionStateSchema = z.object({
  region: z.string(),
  trustDomain: z.string(),
  version: z.number().int().nonnegative(),
  generatedAt: z.string(),
  bundle: z.record(z.string(), z.unknown()),
  gateways: z.array(z.string()).max(64),
  exportedServices: z.array(z.object({ namespace: z.string(), name: z.string(), ports: z.array(portSchema), endpoints: z.array(workloadSchema) })).max(10_000),
  policyDigest: z.string(),
  // Bounded like the services: a peer's state is read by every region, and a rogue one must not be able to bloat them.
  policyDigests: z
    .record(z.string().max(600), z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest'))
    .refine((r) => Object.keys(r).length <= 10_000, 'at most 10000 policy resources')
    .optional(),
  policyCommit: z.string().regex(/^[0-9a-f]{7,64}(-dirty)?$/, 'a Git commit id').optional(),
  // A region's own measurements: other regions choose relays by them, so they are bounded and checked like the rest.
  links: z
    .array(z.object({ region: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/), reachable: z.boolean(), rttMs: z.number().min(0).max(600_000).optional(), loss: z.number().min(0).max(1) }))
    .max(1024)
    .optional(),
  relayFor: z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/)).max(1024).optional(),
  // Other regions route reads and writes by these, so every field is bounded; which members a region may speak for is
  // checked where they are used (data-probes.ts: only its own exported Workloads of the DataRoute's Service).
  dataMembers: z
    .array(
      z.object({
        route: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'namespace/name'),
        workload: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
        role: z.enum(['primary', 'replica', 'unreachable']),
        probedAt: z.number().int().nonnegative().optional(),
        position: z.string().regex(/^[0-9a-f]{1,16}$/).optional(),
        timeline: z.number().int().min(1).max(2 ** 32).optional(),
        lagSeconds: z.number().min(0).max(1e9).optional(),
        withinBound: z.boolean().optional(),
        paused: z.boolean().optional(),
      }),
    )
    .max(10_000)
    .optional(),
  healthy: z.boolean(),
  anycast: z
    .array(
      z.object({
        statusUrl: z.string(),
        reachable: z.boolean(),
        state: z.string(),
        reason: z.string(),
        prefixes: z.array(z.string()).max(256),
        sessionsEstablished: z.number().int().nonnegative(),
        sessionsTotal: z.number().int().nonnegative(),
        since: z.string().optional(),
      }),
    )
    .max(16)
    .optional(),
});

/** A verified payload as a RegionState (plain objects: the verifier returns null-prototype ones). */
export function parseRegionStatePayload(payload: unknown): RegionState | string {
  const r = regionStateSchema.safeParse(JSON.parse(JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))));
  if (!r.success) return `payload is not a region state: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
  return r.data as RegionState;
}

/** The newer of two bundles of one trust domain (by spiffe_sequence); `a` when neither is newer. */
export function newerBundle(a: TrustBundle | undefined, b: TrustBundle | undefined): TrustBundle | undefined {
  if (!a) return b;
  return b && acceptBundleUpdate(a, b).kind === 'accept' ? b : a;
}

/**
 * The bundle to verify a region's states with: the newest one that arrived
 * authenticated by its predecessor (in a signed state, or from its bundle
 * endpoint), unless the operator's file is newer (Federation 4.2 override).
 */
export function chooseAnchor(verified: TrustBundle | undefined, bootstrap: TrustBundle | undefined): TrustBundle | undefined {
  return newerBundle(verified, bootstrap);
}

export interface OfferInput {
  readonly jws: string;
  /** The peer region that sent it. */
  readonly via: string;
  readonly ownRegion: string;
  /** The configured peer entry for the state's region, if any. */
  readonly peerFor: (region: string) => { region: string; trustDomain: string } | undefined;
  readonly held: (region: string) => HeldRegionState | undefined;
  readonly anchor: (region: string) => TrustBundle | undefined;
  readonly now: number;
  /** Signer chains verified before (a region's re-signs share one): only the signature is checked again. */
  readonly signers?: SignerCache;
}

/** The payload segment of a compact JWS (what the signature covers besides the header). */
const payloadSegment = (jws: string): string => jws.slice(jws.indexOf('.') + 1, jws.lastIndexOf('.'));

export type OfferDecision =
  /** A newer version: keep it (and its bundle, if `bundleChanged`). */
  | { kind: 'accept'; held: HeldRegionState; bundleChanged: boolean }
  /** The same version, signed later: only its freshness changes. */
  | { kind: 'refresh'; held: HeldRegionState }
  /** Older or identical to what we hold: nothing to do (not verified: it changes nothing). */
  | { kind: 'unchanged'; region: string }
  /** Not for us: our own state relayed back, or a region we do not federate with. */
  | { kind: 'ignore'; region: string | undefined; reason: string }
  /** Claims to be a configured region's state but fails a check: a forgery, a tamper or a rollback. */
  | { kind: 'reject'; region: string | undefined; reason: string };

export function decideOffer(i: OfferInput): OfferDecision {
  const claims = peekClaims(i.jws);
  if (!claims) return { kind: 'reject', region: undefined, reason: 'not a signed region state (compact JWS with region, version and iat)' };
  const { region } = claims;
  if (region === i.ownRegion) return { kind: 'ignore', region, reason: 'our own state' };
  const peer = i.peerFor(region);
  if (!peer) return { kind: 'ignore', region, reason: `region ${region} is not a configured peer` };
  const cur = i.held(region);
  if (cur && (cur.jws === i.jws || claims.version < cur.state.version || (claims.version === cur.state.version && claims.signedAt <= cur.signedAt))) {
    return { kind: 'unchanged', region };
  }
  const anchor = i.anchor(region);
  const no = (reason: string): OfferDecision => ({ kind: 'reject', region, reason });
  if (!anchor) return no(`no bundle of ${peer.trustDomain} to verify with (bootstrap file unreadable)`);
  if (cur && claims.version === cur.state.version && payloadSegment(i.jws) === payloadSegment(cur.jws)) return refreshOf(i, cur, anchor);
  let v: ReturnType<typeof verifyRegionState>;
  try {
    v = verifyRegionState(i.jws, anchor, i.now, i.signers);
  } catch (err) {
    // The signer chain is attacker-controlled input; a certificate the X.509 library cannot parse must be a refusal, not a crash.
    return no(`signer certificate cannot be checked: ${describeError(err)}`);
  }
  if (v.kind === 'invalid') return no(v.reason);
  const state = parseRegionStatePayload(v.payload);
  if (typeof state === 'string') return no(state);
  if (state.region !== peer.region || state.trustDomain !== peer.trustDomain) {
    return no(`state claims region ${state.region} / ${state.trustDomain}, configured ${peer.region} / ${peer.trustDomain}`);
  }
  let bundle: TrustBundle;
  try {
    bundle = bundleFromDocument(state.bundle, peer.trustDomain);
  } catch (err) {
    return no(`its bundle cannot be read: ${describeError(err)}`);
  }
  // An unchanged bundle keeps the object we verify with: the signer cache is keyed by it, so a
  // new version under the same bundle does not cost the next re-sign a full chain check.
  bundle = [cur?.bundle, anchor].find((b) => b !== undefined && b.sequence === bundle.sequence && sameBundleContent(b, bundle)) ?? bundle;
  const held: HeldRegionState = { jws: i.jws, state, bundle, signedAt: v.signedAt.getTime(), via: i.via, receivedAt: i.now };
  if (cur && state.version === cur.state.version) {
    // A single writer never publishes two contents under one version.
    if (JSON.stringify(state) !== JSON.stringify(cur.state)) return no(`version ${state.version} was already seen with different content`);
    return { kind: 'refresh', held };
  }
  // The origin's own bundle never goes back (no resurrecting a removed key). A bundle
  // learnt elsewhere (bundle endpoint, operator file) may be ahead of it: the newest is the anchor.
  if (cur) {
    const b = acceptBundleUpdate(cur.bundle, bundle);
    if (b.kind === 'reject' && b.code !== 'UNCHANGED') return no(`its bundle is refused: ${b.code}: ${b.reason}`);
  }
  return { kind: 'accept', held, bundleChanged: acceptBundleUpdate(anchor, bundle).kind === 'accept' };
}

/**
 * A re-sign: the same payload bytes as the state we hold (so the same, already
 * checked content), under a later iat. Header, signer chain and signature are
 * checked exactly as for any state (the chain from the cache when it verified
 * against this very anchor); what the payload says is taken from the held state.
 */
function refreshOf(i: OfferInput, cur: HeldRegionState, anchor: TrustBundle): OfferDecision {
  const region = cur.state.region;
  let v: ReturnType<typeof verifyRegionStateSignature>;
  try {
    v = verifyRegionStateSignature(i.jws, anchor, i.now, i.signers);
  } catch (err) {
    return { kind: 'reject', region, reason: `signer certificate cannot be checked: ${describeError(err)}` };
  }
  if (v.kind === 'invalid') return { kind: 'reject', region, reason: v.reason };
  return { kind: 'refresh', held: { jws: i.jws, state: cur.state, bundle: cur.bundle, signedAt: v.signedAt.getTime(), via: i.via, receivedAt: i.now } };
}
