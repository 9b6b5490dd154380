// The immutable view the data plane decides from. The agent's control side
// builds a new snapshot whenever its controller pushes config; the data plane
// swaps it in atomically and never mutates it (decide from a snapshot, then do).
import type { X509Certificate } from 'node:crypto';
import type { SocketAddress } from '../../core/address.js';
import type { SpiffeId, TrustDomain } from '../../identity/spiffe-id.js';
import type { AttestSelectors } from '../attest/attest-selectors.js';
import type { TrafficTable } from '../../policy/traffic-policy.js';
import type { WriteMatcher } from '../../data/write-match.js';

/** How the agent carries one declared port of a Service (docs/dataplane.md, "Modes"). */
export interface WorkloadPort {
  /** The Service port (spec.ports[].port): what policies name. */
  readonly servicePort: number;
  /**
   * http and http2: every request is parsed and authorized, identity headers are ours (the app speaks
   * HTTP/1.1 or h2c respectively); tcp: bytes are spliced.
   */
  readonly protocol: 'http' | 'http2' | 'tcp';
}

/** A workload placed on this agent's node. */
export interface LocalWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly service: string;
  readonly spiffeId: SpiffeId;
  /** The app's address: inbound traffic goes to it, and outbound calls from it identify the caller. */
  readonly address: string;
  /** Its Service's declared ports, by target port: the only ports of `address` the mesh reaches. */
  readonly ports: ReadonlyMap<number, WorkloadPort>;
  /** Its zone (Workload spec.zone): its calls prefer endpoints in the same zone. */
  readonly zone?: string;
  /** What the calling process must be, compiled on this node; absent: callers are identified by address only. */
  readonly attest?: AttestSelectors;
}

/** One destination workload, wherever it runs, and how to reach it. */
export interface Endpoint {
  /** Identity the destination must present; anything else is refused. */
  readonly spiffeId: SpiffeId;
  /** TLS server name (mesh SNI, src/mesh/sni-name.ts). */
  readonly sni: string;
  /** Where to open TLS: the peer agent's inbound port (same region) or the destination region's gateway. */
  readonly dial: SocketAddress;
  /** HTTP/2 CONNECT :authority, "<workload address>:<target port>" as the destination agent knows it. */
  readonly authority: string;
  readonly region: string;
  readonly zone?: string;
  /** Relative share of traffic among the endpoints of its (service, port): Workload spec.weight, 1-1000, default 1. */
  readonly weight: number;
  /** Relayed: `dial` is a gateway of this third region, which passes the connection on to `region`'s gateway. */
  readonly via?: string;
}

/** A mesh service as the caller sees it, with endpoints in preference order (local region first). */
export interface ServiceRoute {
  readonly namespace: string;
  readonly name: string;
  /** Service port -> endpoints (each endpoint's authority carries the target port). */
  readonly ports: ReadonlyMap<number, readonly Endpoint[]>;
  /** Service port -> its declared protocol; absent (or a port missing): tcp. HTTP calls to http ports travel as HTTP/2 requests between agents. */
  readonly protocols?: ReadonlyMap<number, 'http' | 'tcp'>;
  /** A data service's TCP name (docs/data-routing.md): read-your-writes by stickiness. Absent for every other host. */
  readonly sticky?: StickyRead;
  /** An HTTP data service's name: reads and writes classified per request (outbound/data-calls.ts). Absent for every other host. */
  readonly data?: HttpDataRoute;
}

/** Endpoints by Service port. */
export type PortEndpoints = ReadonlyMap<number, readonly Endpoint[]>;

/**
 * An HTTP data service as the caller's agent routes it (docs/data-routing.md):
 * writes to the primary, reads to the replicas within the bound, a read with a
 * consistency token only to the replicas that had replayed that far.
 */
export interface HttpDataRoute {
  /** The DataRoute, "namespace/name". */
  readonly route: string;
  readonly isWrite: WriteMatcher;
  readonly tokenHeader: string;
  /** Where writes go; empty when no member can take them. */
  readonly primary: PortEndpoints;
  /** Where reads without a token go: the replicas within the bound, nearest first, else the primary. */
  readonly reads: PortEndpoints;
  /** The replicas within the bound, nearest first, each with the position it had last replayed (undefined: unknown). */
  readonly replicas: readonly { readonly position: bigint | undefined; readonly ports: PortEndpoints }[];
  /** Balancer keys of the writes and of token-filtered reads: their endpoint sets differ from plain reads'. */
  readonly writeHost: string;
  readonly tokenHost: string;
}

/** Destination side: a write to a local member of an HTTP data service is answered with a consistency token (inbound). */
export interface DataWriteTokens {
  readonly route: string;
  readonly isWrite: WriteMatcher;
  readonly tokenHeader: string;
  /** The member's position endpoint (the DataRoute's probe path), asked after the write. */
  readonly positionPath: string;
}

/**
 * What makes a data service's TCP name sticky. A caller's connection to the
 * read-write name marks it; for `stickyMs` after, its connections to the
 * read-only name go to the primary instead of a replica.
 */
export interface StickyRead {
  /** The DataRoute, "namespace/name": marks are per route. */
  readonly route: string;
  readonly role: 'write' | 'read';
  readonly stickyMs: number;
  /** The route's read-write host: a sticky read is balanced with its calls. */
  readonly readWriteHost: string;
  /** The primary's endpoints, by Service port. */
  readonly primary: ReadonlyMap<number, readonly Endpoint[]>;
}

/** A per-service local listener (the L4 fast path). */
export interface OutboundPort {
  readonly listen: SocketAddress;
  /** Mesh host name, as accepted by `routes`. */
  readonly host: string;
  readonly port: number;
}

/** Authorization as the data plane needs it; implemented over src/policy. */
export interface Authorizer {
  authorize(req: {
    caller: SpiffeId;
    callerRegion: string | undefined;
    service: { namespace: string; name: string };
    /** The Service port (never a raw target port: undeclared ports are refused before). */
    port: number;
    /** Both set on HTTP ports (per request), both absent on TCP ports (per stream). */
    method?: string;
    path?: string;
  }): { kind: 'allow'; policy: string; rule: number } | { kind: 'deny'; reason: string; policy?: string; rule?: number };
}

export interface DataplaneSnapshot {
  readonly generation: number;
  readonly region: string;
  readonly trustDomain: TrustDomain;
  /** Keyed by app address. */
  readonly localWorkloadsByAddress: ReadonlyMap<string, LocalWorkload>;
  /** Keyed by workload name within namespace: `${namespace}/${name}`. */
  readonly localWorkloadsByName: ReadonlyMap<string, LocalWorkload>;
  /**
   * Mesh host names -> routes. Hosts: "<svc>.<ns>.mesh" (nearest healthy
   * region) and "<svc>.<ns>.<region>.mesh" (pinned to one region).
   */
  readonly routes: ReadonlyMap<string, ServiceRoute>;
  /** HTTP data services whose members run here, by "namespace/service": writes to them get a consistency token. */
  readonly dataWrites?: ReadonlyMap<string, DataWriteTokens>;
  readonly outboundPorts: readonly OutboundPort[];
  readonly authorizer: Authorizer;
  /** Regions whose state this region holds only stale (docs/operations.md): their endpoints rank after every fresh region's. */
  readonly staleRegions?: ReadonlySet<string>;
  /**
   * RTT per remote path (picker.ts pathKey: "region", or "region>via"), ms, as
   * this region's gateways probe it: the order until the agent's own pings on
   * a session to that path measure it (a path never tried would otherwise
   * never be measured, and a farther one already in use would keep winning).
   */
  readonly pathRttMs?: ReadonlyMap<string, number>;
  /** Regions whose direct path this region's gateways find unreachable (probes): direct endpoints there rank last. */
  readonly unreachableRegions?: ReadonlySet<string>;
  /** Client-side failure handling per (service, port) this node's apps call: TrafficPolicy, compiled (src/policy/traffic-policy.ts). */
  readonly traffic: TrafficTable;
  /** Trust: authorities per trust domain (verification) and region per trust domain (policy). */
  authoritiesFor(trustDomain: TrustDomain): readonly X509Certificate[] | undefined;
  /** Every trusted authority, PEM: the TLS `ca` pool for handshakes; the per-domain check follows it. */
  readonly allAuthoritiesPem: readonly string[];
  regionOf(trustDomain: TrustDomain): string | undefined;
}

/** The SVID and key of one local workload, as of now (rotates). */
export interface WorkloadCredentials {
  readonly spiffeId: SpiffeId;
  readonly certChainPem: string;
  readonly privateKeyPem: string;
  readonly notAfter: Date;
}

export interface CredentialProvider {
  /** undefined when the workload has no valid SVID yet (the data plane then refuses its traffic). */
  credentialsFor(workload: LocalWorkload): WorkloadCredentials | undefined;
}
