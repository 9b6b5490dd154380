// Wire types shared by controller, agents, gateways and peer controllers.
// JSON-only (no classes): these cross process boundaries and sit on disk as caches.
import type { WireBundle } from './wire-bundle.js';

export interface WireWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly service: string;
  readonly serviceAccount: string;
  readonly node: string;
  readonly address: string;
  readonly zone?: string;
  /**
   * Share of its Service's traffic relative to the other endpoints (Workload
   * spec.weight, 1-1000). Absent in configs and region states from before
   * weights existed: 1.
   */
  readonly weight?: number;
  /** What the workload's process must be (Workload spec.attest); the agent of its node checks callers against it. */
  readonly attest?: WireAttest;
}

/** Workload attestation selectors as declared: names are resolved by the agent of the workload's node, not by the controller. */
export interface WireAttest {
  readonly uid?: number;
  readonly user?: string;
  readonly gid?: number;
  readonly group?: string;
  /** Absolute path of the executable. */
  readonly executable?: string;
  /** cgroup v2 path, exact or a prefix ending in "*". */
  readonly cgroup?: string;
  /** e.g. "shop-frontend.service". */
  readonly systemdUnit?: string;
}

/**
 * What a Service port carries (docs/dataplane.md "Modes"): http is HTTP/1.1 to
 * the app (callers may also speak h2c), http2 is h2c to the app (gRPC), tcp is
 * any byte stream. Every schema that carries a port takes its values from here.
 */
export const SERVICE_PROTOCOLS = ['http', 'http2', 'tcp'] as const;
export type ServiceProtocol = (typeof SERVICE_PROTOCOLS)[number];

export interface WireServicePort {
  readonly port: number;
  readonly targetPort: number;
  /** http/http2: the destination agent parses and authorizes every request; tcp: it splices bytes. */
  readonly protocol: ServiceProtocol;
}

export interface WireService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly WireServicePort[];
  readonly export: boolean;
}

/** A service exported by a region, with the endpoints other regions may dial through its gateway. */
export interface ExportedService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly WireServicePort[];
  readonly endpoints: readonly WireWorkload[];
}

/** What one region publishes to its peers; its controller is the single writer. */
export interface RegionState {
  readonly region: string;
  readonly trustDomain: string;
  /** Grows with every change; merging keeps the highest per region. */
  readonly version: number;
  readonly generatedAt: string;
  readonly bundle: WireBundle;
  /** Addresses at which other regions reach this region's gateways. */
  readonly gateways: readonly string[];
  readonly exportedServices: readonly ExportedService[];
  readonly policyDigest: string;
  readonly healthy: boolean;
  /** The region's anycast announcers, as its controller last saw them (absent when none is configured). */
  readonly anycast?: readonly AnycastSummary[];
  /**
   * Reachability from this region's gateways to each peer region, as its
   * gateways' probes measured it (absent from states of older controllers).
   * Other regions read it to decide relays: a peer reachable from here is a
   * candidate path for traffic they cannot send directly.
   */
  readonly links?: readonly LinkReachability[];
  /** Destination regions this region's gateways forward to on other regions' behalf (operator setting; absent: none). */
  readonly relayFor?: readonly string[];
  /** Digest of each policy resource this region enforces, keyed "Kind/namespace/name" (policy kinds only: no Services or Workloads). */
  readonly policyDigests?: Readonly<Record<string, string>>;
  /** The Git commit of the resource directory, when it is a Git checkout (suffixed "-dirty" when the worktree differs). */
  readonly policyCommit?: string;
}

/** One directed link, from the publishing region to `region`, as its gateways' probes see it. */
export interface LinkReachability {
  readonly region: string;
  /** At least one of our gateways reaches at least one of theirs. */
  readonly reachable: boolean;
  /** Median probe round trip of the best gateway pair over the probe window; null while unreachable or unmeasured. */
  readonly rttMs: number | null;
  /** Share of probes lost over the probe window, 0..1. */
  readonly loss: number;
}

/** How this region's agents reach a remote region now (decided by the controller from reachability). */
export type RegionPath =
  | { readonly kind: 'direct' }
  /** Through region `via`: dial its gateways (`gateways`, as we reach them) with the destination's SNI; they splice on to the destination's gateway. */
  | { readonly kind: 'relay'; readonly via: string; readonly gateways: readonly string[]; readonly rttMs: number | null }
  | { readonly kind: 'unreachable' };

/** One anycast announcer's state, as carried in the region state. */
export interface AnycastSummary {
  readonly statusUrl: string;
  /** False when the controller could not read the announcer's status. */
  readonly reachable: boolean;
  /** 'announced', 'withdrawn', ... as the announcer reports it; 'unknown' when unreachable. */
  readonly state: string;
  readonly reason: string;
  readonly prefixes: readonly string[];
  readonly sessionsEstablished: number;
  readonly sessionsTotal: number;
  readonly since: string | undefined;
}

/** A remote region as an agent sees it. */
export interface RemoteRegion {
  readonly region: string;
  readonly trustDomain: string;
  /** Gateway address to dial (after any peer override), or undefined when none is known. */
  readonly gateway: string | undefined;
  /** Every gateway address to dial (the first is `gateway`); absent from configs of older controllers. */
  readonly gateways?: readonly string[];
  readonly exportedServices: readonly ExportedService[];
  /** Age of the newest state we hold, at the time this config was built. */
  readonly ageMs: number;
  readonly stale: boolean;
  /** Our gateways' view of the link to this region (absent: not measured, e.g. a controller from before probes). */
  readonly reachability?: LinkReachability;
  /** The path agents use now (absent: direct). */
  readonly path?: RegionPath;
}

/** The config stream payload: everything an agent (or gateway) needs, as one snapshot. */
export interface MeshConfig {
  readonly version: number;
  readonly region: string;
  readonly trustDomain: string;
  readonly zone?: string;
  /** Trust domain -> SPIFFE bundle (own first). */
  readonly bundles: Readonly<Record<string, WireBundle>>;
  readonly services: readonly WireService[];
  readonly workloads: readonly WireWorkload[];
  /**
   * Node -> inbound address of its agent, for agents that reported one (the
   * controller checked it: a literal IP:port the node may claim). Agents
   * only: gateways never appear here.
   */
  readonly nodes: Readonly<Record<string, string>>;
  readonly remoteRegions: readonly RemoteRegion[];
  /** AuthorizationPolicy resources as loaded (plain objects; the agent compiles them). */
  readonly authorizationPolicies: readonly unknown[];
  /**
   * TrafficPolicy resources as loaded (plain objects, defaults filled in; the
   * agent re-validates and compiles them). Absent from configs of controllers
   * (and cached config.json files) from before the kind existed: none.
   */
  readonly trafficPolicies?: readonly unknown[];
  readonly policyDigest: string;
  /** The controller's own listen addresses (agent API, federation, admin, bundle endpoint): never a route. */
  readonly controllerAddresses?: readonly string[];
  /**
   * Gateways only: the remote regions this region's gateways may forward to
   * on other regions' behalf (operator setting). A gateway relays a
   * connection whose SNI is in one of these regions' trust domains to that
   * region's gateways (remoteRegions[].gateways) and nowhere else.
   */
  readonly relayFor?: readonly string[];
}
