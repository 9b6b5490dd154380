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
  /** Digest of each policy resource this region enforces, keyed "Kind namespace/name" (policy kinds only: no Services or Workloads). */
  readonly policyDigests?: Readonly<Record<string, string>>;
  /** The Git commit of the resource directory, when it is a Git checkout (suffixed "-dirty" when files under it differ from the commit, untracked ones included). */
  readonly policyCommit?: string;
  /** What this region's gateways measure of the path to each peer region (absent from older controllers, and until a gateway reports). */
  readonly links?: readonly LinkSummary[];
  /** Regions this region's gateways relay traffic to, for any peer that cannot reach them directly (federation.relay.serve). */
  readonly relayFor?: readonly string[];
  /** This region's members of data services, as its controller probes them (absent: none, or an older controller). */
  readonly dataMembers?: readonly DataMemberSummary[];
}

/** One region-to-region path as the source region's gateways probe it (quantized: small jitter changes nothing). */
export interface LinkSummary {
  readonly region: string;
  readonly reachable: boolean;
  /** Probe round trip, ms, rounded to 5 ms; absent while unreachable. */
  readonly rttMs?: number;
  /** Share of probes lost recently, 0..1 in steps of 0.05. */
  readonly loss: number;
}

/** A way to a region through a third one's gateway, when the direct path is cut. */
export interface RelayPath {
  /** The relaying region: dial its gateways with the destination's server names. */
  readonly via: string;
  /** Our RTT to `via` plus its RTT to the destination, ms, when both are known. */
  readonly rttMs?: number;
}

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
  /**
   * Past the controller's expireAfter: the region's services and gateways are
   * withheld (nothing routes there) until a fresh state arrives. Absent: false.
   */
  readonly expired?: boolean;
  /**
   * What this region's gateways measure of the direct path (probes every
   * 250 ms): false when every gateway's probes to every address of the
   * region failed; absent while unknown (no gateway has reported yet).
   */
  readonly reachable?: boolean;
  readonly rttMs?: number;
  readonly loss?: number;
  /** Regions that can relay to this one, best first; absent or empty: none. */
  readonly relays?: readonly RelayPath[];
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
  /** For gateways: the remote regions they may relay connections to (federation.relay.serve); absent: none. */
  readonly relayTo?: readonly string[];
  /**
   * Data services (docs/data-routing.md), as this region's controller decided
   * from its probes: the names clients dial and the member Workloads reads and
   * writes go to, in order. Absent from older controllers: none.
   */
  readonly dataRoutes?: readonly WireDataRoute[];
}

/** One member of a data service, as the agents route to it. */
export interface WireDataMember {
  /** Workload name, in the route's namespace. */
  readonly workload: string;
  /** Its region: this one, or another reached through that region's gateways (its Service exported). */
  readonly region: string;
  /** http routes: the position it had last replayed (replica) or written (primary), lowercase hex; absent when unknown. */
  readonly position?: string;
}

/** A data service as this region's controller decided it (docs/data-routing.md). */
export interface WireDataRoute {
  readonly namespace: string;
  /** The DataRoute's name. */
  readonly name: string;
  /** The members' Service. */
  readonly service: string;
  readonly protocol: 'postgresql' | 'http';
  /** postgresql: the names clients dial, and how long a caller's reads stick to the primary after a write connection. */
  readonly readWrite?: string;
  readonly readOnly?: string;
  readonly stickyAfterWriteMs?: number;
  /** http: which requests are writes, the token's header, and each member's position endpoint. */
  readonly http?: {
    readonly writes: readonly { readonly methods?: readonly string[]; readonly paths?: readonly string[]; readonly header?: { readonly name: string; readonly values?: readonly string[] } }[];
    readonly tokenHeader: string;
    readonly positionPath: string;
  };
  /** Where writes go: the primary (empty: none can take writes). */
  readonly writes: readonly WireDataMember[];
  /** Where reads go, in order: the replicas within the bound, nearest first, then the primary last (empty: none can serve). */
  readonly reads: readonly WireDataMember[];
}

/**
 * One member of a data service as its own region's controller probes it,
 * published in the region state so that other regions route to it and
 * measure their replicas against its primary. A region speaks only for its
 * own exported Workloads: anything else is refused when the state is read.
 */
export interface DataMemberSummary {
  /** DataRoute, "namespace/name". */
  readonly route: string;
  readonly workload: string;
  readonly role: 'primary' | 'replica' | 'unreachable';
  /** Epoch ms (the origin's clock) of the last probe that answered; absent when none has. */
  readonly probedAt?: number;
  /** Current (primary) or replayed (replica) position, lowercase hex. */
  readonly position?: string;
  readonly timeline?: number;
  /** replica: lag as its region measures it; absent when unknown. */
  readonly lagSeconds?: number;
  /** replica: within the DataRoute's bound as its region judges it (with hysteresis). */
  readonly withinBound?: boolean;
  /** replica: its replay is paused (PostgreSQL's pg_wal_replay_pause()). */
  readonly paused?: boolean;
}
