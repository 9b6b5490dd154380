// Pure views of the controller's state: the config snapshot pushed to its
// agents and the region state published to peers. No I/O here.
import type { ResourceSet } from '../policy/resource-set.js';
import type { WireBundle } from '../mesh/wire-bundle.js';
import type { AnycastSummary, DataMemberSummary, ExportedService, LinkSummary, MeshConfig, RegionState, RemoteRegion, WireDataRoute, WireService, WireWorkload } from '../mesh/mesh-config.js';
import type { NodeRecord } from './node-registry.js';
import type { PolicyDigests } from '../policy/policy-digests.js';

export interface ViewInputs {
  readonly region: string;
  readonly trustDomain: string;
  readonly zone?: string;
  readonly resources: ResourceSet;
  readonly policyDigest: string;
  /** Policy resources only (no Services or Workloads): what other regions compare for drift. */
  readonly policy: PolicyDigests;
  /** The resource directory's Git commit, when it is a checkout. */
  readonly policyCommit?: string | undefined;
  readonly nodes: readonly NodeRecord[];
  readonly connectedGateways: readonly NodeRecord[];
  readonly ownBundle: WireBundle;
  readonly peerBundles: Readonly<Record<string, WireBundle>>;
  readonly remoteRegions: readonly RemoteRegion[];
  readonly anycast: readonly AnycastSummary[];
  /** The controller's own listen addresses, published so that nodes never route to them. */
  readonly controllerAddresses?: readonly string[];
  /** What this region's gateways measure of each peer region (link-reports.ts). */
  readonly links?: readonly LinkSummary[];
  /** Peer regions this region's gateways relay to (federation.relay.serve, resolved). */
  readonly relayFor?: readonly string[];
  /** The data services' decisions of this region (data-probes.ts). */
  readonly dataRoutes?: readonly WireDataRoute[];
  /** This region's members of data services, for its region state (data-probes.ts). */
  readonly dataMembers?: readonly DataMemberSummary[];
}

export function wireServices(resources: ResourceSet): WireService[] {
  return resources.services.map((s) => ({
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    ports: s.spec.ports.map((p) => ({ port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
    export: s.spec.export,
  }));
}

export function wireWorkloads(resources: ResourceSet): WireWorkload[] {
  return resources.workloads.map((w) => ({
    name: w.metadata.name,
    namespace: w.metadata.namespace,
    service: w.spec.service,
    serviceAccount: w.spec.serviceAccount,
    node: w.spec.node,
    address: w.spec.address,
    ...(w.spec.zone !== undefined ? { zone: w.spec.zone } : {}),
    weight: w.spec.weight ?? 1,
    ...(w.spec.attest !== undefined ? { attest: w.spec.attest } : {}),
  }));
}

/** The part of a MeshConfig that changes meaningfully (version excluded), for change detection. */
export function buildMeshConfigBody(v: ViewInputs): Omit<MeshConfig, 'version'> {
  // Agents only: a gateway's address is for other regions and never a route inside this one.
  const nodes: Record<string, string> = {};
  for (const n of v.nodes) if (n.kind === 'agent' && n.advertise) nodes[n.node] = n.advertise;
  return {
    region: v.region,
    trustDomain: v.trustDomain,
    ...(v.zone !== undefined ? { zone: v.zone } : {}),
    bundles: { [v.trustDomain]: v.ownBundle, ...v.peerBundles },
    services: wireServices(v.resources),
    workloads: wireWorkloads(v.resources),
    nodes,
    remoteRegions: v.remoteRegions.map((r) => ({ ...r, ageMs: 0 })),
    authorizationPolicies: v.resources.authorizationPolicies,
    trafficPolicies: v.resources.trafficPolicies,
    policyDigest: v.policyDigest,
    ...(v.controllerAddresses && v.controllerAddresses.length > 0 ? { controllerAddresses: [...v.controllerAddresses] } : {}),
    ...(v.relayFor && v.relayFor.length > 0 ? { relayTo: [...v.relayFor] } : {}),
    ...(v.dataRoutes && v.dataRoutes.length > 0 ? { dataRoutes: [...v.dataRoutes] } : {}),
  };
}

/**
 * The exported Services this region runs Workloads of. Service names are
 * mesh-wide, so the shared policy tree declares Services that run only in
 * other regions: announcing those with no endpoints would only add dead routes.
 */
export function exportedServices(resources: ResourceSet): ExportedService[] {
  const workloads = wireWorkloads(resources);
  return wireServices(resources)
    .filter((s) => s.export)
    .map((s) => ({
      namespace: s.namespace,
      name: s.name,
      ports: s.ports,
      // Attestation selectors concern the workload's own node: they are not published to other regions. Weights are.
      endpoints: workloads.filter((w) => w.namespace === s.namespace && w.service === s.name).map(({ attest: _attest, ...w }) => w),
    }))
    .filter((s) => s.endpoints.length > 0);
}

export function buildRegionStateBody(v: ViewInputs): Omit<RegionState, 'version' | 'generatedAt'> {
  return {
    region: v.region,
    trustDomain: v.trustDomain,
    bundle: v.ownBundle,
    gateways: v.connectedGateways.flatMap((g) => (g.advertise ? [g.advertise] : [])).sort(),
    exportedServices: exportedServices(v.resources),
    // The policy-only digest: regions running different workloads under one policy tree publish the same one.
    policyDigest: v.policy.digest,
    policyDigests: v.policy.resources,
    ...(v.policyCommit !== undefined ? { policyCommit: v.policyCommit } : {}),
    healthy: v.connectedGateways.length > 0,
    ...(v.anycast.length > 0 ? { anycast: v.anycast } : {}),
    ...(v.links && v.links.length > 0 ? { links: v.links } : {}),
    ...(v.relayFor && v.relayFor.length > 0 ? { relayFor: v.relayFor } : {}),
    ...(v.dataMembers && v.dataMembers.length > 0 ? { dataMembers: v.dataMembers } : {}),
  };
}
