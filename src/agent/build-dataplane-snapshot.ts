// Turns the controller's config (wire JSON) into the immutable snapshot the
// data plane decides from: routes by mesh host name, endpoints in preference
// order, local workloads with their declared ports and protocols, compiled
// authorization and traffic policies and per-trust-domain authorities. Pure but for attestation
// selectors, which are resolved against this node (accounts, and the real path
// of a declared executable).
import { X509Certificate } from 'node:crypto';
import { formatMeshSni } from '../mesh/sni-name.js';
import { parseSocketAddress } from '../core/address.js';
import { SpiffeId, parseTrustDomain, type TrustDomain } from '../identity/spiffe-id.js';
import { bundleFromDocument } from '../identity/trust-bundle.js';
import { authorize, compilePolicies } from '../policy/authorize.js';
import type { AuthorizationPolicy } from '../policy/resources.js';
import { TrafficPolicySchema } from '../policy/traffic-policy-schema.js';
import { compileTrafficPolicies } from '../policy/traffic-policy.js';
import type { MeshConfig, RemoteRegion, WireDataMember, WireServicePort, WireWorkload } from '../mesh/mesh-config.js';
import { compileSelectors } from './attest/attest-selectors.js';
import { NO_ACCOUNTS, type NodeAccounts } from './attest/node-accounts.js';
import { compileWriteMatcher } from '../data/write-match.js';
import type { Authorizer, DataplaneSnapshot, DataWriteTokens, Endpoint, HttpDataRoute, LocalWorkload, OutboundPort, ServiceRoute, WorkloadPort } from './dataplane/dataplane-snapshot.js';

export interface SnapshotContext {
  readonly node: string;
  readonly outboundPorts: readonly OutboundPort[];
  /** This node's users and groups, read when the snapshot is built (Workload attest names them). */
  readonly accounts?: NodeAccounts;
}

/** Gateways of a relaying region used per relayed path (each is one more endpoint per workload). */
const MAX_RELAY_GATEWAYS = 2;

function endpointsFor(
  ports: readonly WireServicePort[],
  workloads: readonly WireWorkload[],
  dialOf: (w: WireWorkload) => string | undefined,
  trustDomain: TrustDomain,
  region: string,
  via?: string,
): Map<number, Endpoint[]> {
  const out = new Map<number, Endpoint[]>();
  for (const p of ports) {
    const eps: Endpoint[] = [];
    for (const w of workloads) {
      const dial = dialOf(w);
      if (!dial) continue;
      eps.push({
        spiffeId: SpiffeId.forWorkload(trustDomain, w.namespace, w.serviceAccount),
        sni: formatMeshSni({ workload: w.name, namespace: w.namespace, node: w.node, trustDomain }),
        dial: parseSocketAddress(dial),
        authority: w.address.includes(':') ? `[${w.address}]:${p.targetPort}` : `${w.address}:${p.targetPort}`,
        region,
        ...(w.zone !== undefined ? { zone: w.zone } : {}),
        weight: w.weight ?? 1,
        ...(via !== undefined ? { via } : {}),
      });
    }
    out.set(p.port, eps);
  }
  return out;
}

function mergeRoute(into: Map<string, ServiceRoute>, host: string, ns: string, name: string, ports: Map<number, Endpoint[]>, declared: readonly WireServicePort[]): void {
  const existing = into.get(host);
  // Service names are mesh-wide: the first region to declare a port says its protocol (the local one comes first).
  const protocols = new Map<number, 'http' | 'tcp'>(existing?.protocols ?? []);
  for (const p of declared) if (!protocols.has(p.port)) protocols.set(p.port, p.protocol === 'tcp' ? 'tcp' : 'http');
  if (!existing) {
    into.set(host, { namespace: ns, name, ports, protocols });
    return;
  }
  const merged = new Map(existing.ports);
  for (const [port, eps] of ports) merged.set(port, [...(merged.get(port) ?? []), ...eps]);
  into.set(host, { namespace: ns, name, ports: merged, protocols });
}

/**
 * Target port -> Service port and protocol. Two Service ports on one target
 * port are refused when resources load; should a config still carry them, the
 * first declared wins, as the controller lists them.
 */
export function workloadPorts(ports: readonly WireServicePort[]): ReadonlyMap<number, WorkloadPort> {
  const out = new Map<number, WorkloadPort>();
  for (const p of ports) if (!out.has(p.targetPort)) out.set(p.targetPort, { servicePort: p.port, protocol: p.protocol === 'http' || p.protocol === 'http2' ? p.protocol : 'tcp' });
  return out;
}

/**
 * The ways to a remote region: each of its gateways, then relayed paths
 * through the gateways of each region that relays to it. The balancer ranks
 * relayed paths after a reachable direct one and fails over to them when it is cut.
 */
function remotePaths(r: RemoteRegion, byRegion: ReadonlyMap<string, RemoteRegion>): { gateway: string; via: string | undefined }[] {
  const gateways = r.gateways && r.gateways.length > 0 ? r.gateways : r.gateway ? [r.gateway] : [];
  return [
    ...gateways.map((g) => ({ gateway: g, via: undefined as string | undefined })),
    ...(r.relays ?? []).flatMap((relay) => {
      const through = byRegion.get(relay.via);
      const gws = through?.gateways && through.gateways.length > 0 ? through.gateways : through?.gateway ? [through.gateway] : [];
      return gws.slice(0, MAX_RELAY_GATEWAYS).map((g) => ({ gateway: g, via: relay.via as string | undefined }));
    }),
  ];
}

/** A data member in another region: its exported endpoint, one per path to that region (as for any remote Service). */
function remoteMemberEndpoints(byRegion: ReadonlyMap<string, RemoteRegion>, m: WireDataMember, namespace: string, service: string): Map<number, Endpoint[]> {
  const out = new Map<number, Endpoint[]>();
  const r = byRegion.get(m.region);
  const s = r?.exportedServices.find((x) => x.namespace === namespace && x.name === service);
  const ws = s?.endpoints.filter((w) => w.name === m.workload) ?? [];
  if (!r || !s || ws.length === 0) return out;
  const rtd = parseTrustDomain(r.trustDomain);
  for (const { gateway, via } of remotePaths(r, byRegion)) {
    for (const [port, eps] of endpointsFor(s.ports, ws, () => gateway, rtd, r.region, via)) out.set(port, [...(out.get(port) ?? []), ...eps]);
  }
  return out;
}

export function buildDataplaneSnapshot(config: MeshConfig, ctx: SnapshotContext): DataplaneSnapshot {
  const td = parseTrustDomain(config.trustDomain);
  const routes = new Map<string, ServiceRoute>();

  // Local region first: it is the nearest.
  for (const s of config.services) {
    const ws = config.workloads.filter((w) => w.namespace === s.namespace && w.service === s.name);
    const ports = endpointsFor(s.ports, ws, (w) => config.nodes[w.node], td, config.region);
    mergeRoute(routes, `${s.name}.${s.namespace}.mesh`, s.namespace, s.name, ports, s.ports);
    mergeRoute(routes, `${s.name}.${s.namespace}.${config.region}.mesh`, s.namespace, s.name, ports, s.ports);
  }
  // Data services: the names clients dial, answered with the members the controller chose, in its order
  // (docs/data-routing.md). A name with no member has no route: a call to it is refused, never sent anywhere.
  const remoteByRegion = new Map(config.remoteRegions.map((r) => [r.region, r]));
  const dataWrites = new Map<string, DataWriteTokens>();
  for (const d of config.dataRoutes ?? []) {
    const s = config.services.find((x) => x.namespace === d.namespace && x.name === d.service);
    if (!s) continue;
    const endpointsOf = (members: readonly WireDataMember[]): Map<number, Endpoint[]> => {
      const out = new Map<number, Endpoint[]>();
      for (const m of members) {
        const ports =
          m.region === config.region
            ? endpointsFor(s.ports, config.workloads.filter((w) => w.namespace === d.namespace && w.name === m.workload), (w) => config.nodes[w.node], td, config.region)
            : remoteMemberEndpoints(remoteByRegion, m, d.namespace, d.service);
        for (const [port, eps] of ports) out.set(port, [...(out.get(port) ?? []), ...eps]);
      }
      return out;
    };
    // Reads: the replicas within the bound we can reach; the primary (last in the order) only when there is none.
    const primary = d.writes[0];
    const replicaMembers = d.reads.filter((m) => !(primary && m.workload === primary.workload && m.region === primary.region));
    const replicas = endpointsOf(replicaMembers);
    const writes = endpointsOf(d.writes);
    const any = (ports: Map<number, Endpoint[]>): boolean => [...ports.values()].some((eps) => eps.length > 0);
    const route = `${d.namespace}/${d.name}`;
    if (d.protocol === 'http') {
      if (!d.http) continue;
      const isWrite = compileWriteMatcher(d.http.writes);
      if (config.workloads.some((w) => w.node === ctx.node && w.namespace === d.namespace && w.service === d.service)) {
        dataWrites.set(`${d.namespace}/${d.service}`, { route, isWrite, tokenHeader: d.http.tokenHeader, positionPath: d.http.positionPath });
      }
      const reads = any(replicas) ? replicas : endpointsOf(d.reads);
      if (!any(writes) && !any(reads)) continue;
      // One name, <DataRoute>.<namespace>.mesh. The route's own endpoints only make it resolvable:
      // data-calls.ts picks per request, and sends a call it cannot classify (bytes) to the primary alone.
      const host = `${d.name}.${d.namespace}.mesh`;
      mergeRoute(routes, host, s.namespace, s.name, any(writes) ? writes : reads, s.ports);
      const data: HttpDataRoute = {
        route,
        isWrite,
        tokenHeader: d.http.tokenHeader,
        primary: writes,
        reads,
        replicas: replicaMembers.map((m) => ({ position: m.position !== undefined ? BigInt(`0x${m.position}`) : undefined, ports: endpointsOf([m]) })).filter((r) => any(r.ports)),
        writeHost: `primary.${host}`,
        tokenHost: `token.${host}`,
      };
      routes.set(host, { ...routes.get(host)!, data });
      continue;
    }
    if (d.readWrite === undefined || d.readOnly === undefined) continue;
    const stickyMs = d.stickyAfterWriteMs ?? 0;
    const readWriteHost = `${d.readWrite}.${d.namespace}.mesh`;
    for (const [name, role, ports] of [[d.readWrite, 'write', writes], [d.readOnly, 'read', any(replicas) ? replicas : endpointsOf(d.reads)]] as const) {
      if (!any(ports)) continue;
      const host = `${name}.${d.namespace}.mesh`;
      mergeRoute(routes, host, s.namespace, s.name, ports, s.ports);
      // The names are the DataRoute's alone (DATA_ROUTE_NAME_TAKEN), so the route just made is this one's.
      if (stickyMs > 0) routes.set(host, { ...routes.get(host)!, sticky: { route, role, stickyMs, readWriteHost, primary: writes } });
    }
  }
  // Then other regions: fresh before stale (stale routes are kept, but demoted).
  const remotes = [...config.remoteRegions].sort((a, b) => Number(a.stale) - Number(b.stale));
  for (const r of remotes) {
    const paths = remotePaths(r, remoteByRegion);
    const rtd = parseTrustDomain(r.trustDomain);
    for (const { gateway, via } of paths) {
      for (const s of r.exportedServices) {
        const ports = endpointsFor(s.ports, s.endpoints, () => gateway, rtd, r.region, via);
        mergeRoute(routes, `${s.name}.${s.namespace}.mesh`, s.namespace, s.name, ports, s.ports);
        mergeRoute(routes, `${s.name}.${s.namespace}.${r.region}.mesh`, s.namespace, s.name, ports, s.ports);
      }
    }
  }

  // A workload's reachable ports are its Service's declared target ports, each with its declared protocol.
  const portsByService = new Map<string, ReadonlyMap<number, WorkloadPort>>();
  for (const s of config.services) portsByService.set(`${s.namespace}/${s.name}`, workloadPorts(s.ports));
  const local = config.workloads
    .filter((w) => w.node === ctx.node)
    .map(
      (w): LocalWorkload => ({
        name: w.name,
        namespace: w.namespace,
        service: w.service,
        spiffeId: SpiffeId.forWorkload(td, w.namespace, w.serviceAccount),
        address: w.address,
        ports: portsByService.get(`${w.namespace}/${w.service}`) ?? new Map(),
        ...(w.zone !== undefined ? { zone: w.zone } : {}),
        ...(w.attest ? { attest: compileSelectors(w.attest, ctx.accounts ?? NO_ACCOUNTS) } : {}),
      }),
    );

  const authorities = new Map<string, X509Certificate[]>();
  for (const [domain, doc] of Object.entries(config.bundles)) {
    try {
      authorities.set(domain, bundleFromDocument(doc, domain).x509Authorities.map((p) => new X509Certificate(p)));
    } catch {
      // A malformed bundle authenticates nobody from that domain; the rest keeps working.
    }
  }
  const regionByTd = new Map<string, string>([[config.trustDomain, config.region], ...config.remoteRegions.map((r) => [r.trustDomain, r.region] as [string, string])]);

  const compiled = compilePolicies(config.authorizationPolicies as AuthorizationPolicy[]);
  // The data plane has mapped the target port to its Service port (LocalWorkload.ports) before it asks.
  const authorizer: Authorizer = {
    authorize: (req) =>
      authorize(compiled, {
        caller: { id: req.caller.toString(), trustDomain: req.caller.trustDomain, ...(req.caller.namespace ? { namespace: req.caller.namespace } : {}), ...(req.callerRegion ? { region: req.callerRegion } : {}) },
        service: req.service,
        port: req.port,
        ...(req.method !== undefined ? { method: req.method } : {}),
        ...(req.path !== undefined ? { path: req.path } : {}),
      }),
  };

  // Validated with this schema already (checkMeshConfig); parsed again for its output (defaults filled in), which the raw config is not typed as.
  const traffic = compileTrafficPolicies((config.trafficPolicies ?? []).map((p) => TrafficPolicySchema.parse(p)), config.services);

  return {
    generation: config.version,
    region: config.region,
    trustDomain: td,
    localWorkloadsByAddress: new Map(local.map((w) => [w.address, w])),
    localWorkloadsByName: new Map(local.map((w) => [`${w.namespace}/${w.name}`, w])),
    routes,
    dataWrites,
    outboundPorts: ctx.outboundPorts,
    authorizer,
    traffic,
    authoritiesFor: (d: TrustDomain) => authorities.get(d),
    allAuthoritiesPem: [...authorities.values()].flat().map((c) => c.toString()),
    staleRegions: new Set(config.remoteRegions.filter((r) => r.stale).map((r) => r.region)),
    pathRttMs: new Map(
      config.remoteRegions.flatMap((r) => [
        ...(r.rttMs !== undefined ? [[r.region, r.rttMs] as [string, number]] : []),
        ...(r.relays ?? []).flatMap((x) => (x.rttMs !== undefined ? [[`${r.region}>${x.via}`, x.rttMs] as [string, number]] : [])),
      ]),
    ),
    unreachableRegions: new Set(config.remoteRegions.filter((r) => r.reachable === false).map((r) => r.region)),
    regionOf: (d: TrustDomain) => regionByTd.get(d),
  };
}
