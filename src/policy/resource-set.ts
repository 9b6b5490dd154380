// An immutable, sorted set of validated resources and its digest. Regions
// publish the digest of what they enforce; equal digests mean equal policy,
// whatever the file layout, key order or spelled-out defaults.
import { createHash } from 'node:crypto';
import type { AuthorizationPolicy, DataRoute, Resource, Service, TrafficPolicy, Workload } from './resources.js';
import { resourceRef } from './resources.js';

export interface ResourceSet {
  /** Each list sorted by namespace, then name. */
  readonly services: readonly Service[];
  readonly workloads: readonly Workload[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  readonly trafficPolicies: readonly TrafficPolicy[];
  readonly dataRoutes: readonly DataRoute[];
}

export function emptyResourceSet(): ResourceSet {
  return { services: [], workloads: [], authorizationPolicies: [], trafficPolicies: [], dataRoutes: [] };
}

function byNamespaceThenName(a: Resource, b: Resource): number {
  const ns = compare(a.metadata.namespace, b.metadata.namespace);
  return ns !== 0 ? ns : compare(a.metadata.name, b.metadata.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Groups by kind and sorts; the caller has already rejected duplicates. */
export function buildResourceSet(resources: readonly Resource[]): ResourceSet {
  const services: Service[] = [];
  const workloads: Workload[] = [];
  const authorizationPolicies: AuthorizationPolicy[] = [];
  const trafficPolicies: TrafficPolicy[] = [];
  const dataRoutes: DataRoute[] = [];
  for (const r of resources) {
    if (r.kind === 'Service') services.push(r);
    else if (r.kind === 'Workload') workloads.push(r);
    else if (r.kind === 'AuthorizationPolicy') authorizationPolicies.push(r);
    else if (r.kind === 'TrafficPolicy') trafficPolicies.push(r);
    else dataRoutes.push(r);
  }
  return {
    services: services.sort(byNamespaceThenName),
    workloads: workloads.sort(byNamespaceThenName),
    authorizationPolicies: authorizationPolicies.sort(byNamespaceThenName),
    trafficPolicies: trafficPolicies.sort(byNamespaceThenName),
    dataRoutes: dataRoutes.sort(byNamespaceThenName),
  };
}

/**
 * JSON with object keys sorted at every level and undefined members dropped.
 * Array order is kept: it is meaning (rule indexes are reported in decisions).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => compare(a, b));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * sha256 hex over the canonical JSON of the whole set (format version
 * included). `trafficPolicies` and `dataRoutes` are left out when empty, so a set without any
 * keeps the digest it had before the kind existed: saved last-good sets and
 * cross-region drift views survive the upgrade.
 */
export function digestResources(set: ResourceSet): string {
  return sha256(canonicalJson({
    apiVersion: 'entente.dev/v1alpha1',
    services: set.services,
    workloads: set.workloads,
    authorizationPolicies: set.authorizationPolicies,
    ...(set.trafficPolicies.length > 0 ? { trafficPolicies: set.trafficPolicies } : {}),
    ...(set.dataRoutes.length > 0 ? { dataRoutes: set.dataRoutes } : {}),
  }));
}

/** Digest per resource, keyed "Kind namespace/name": drift reports name what differs. */
export function digestEachResource(set: ResourceSet): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of [...set.services, ...set.workloads, ...set.authorizationPolicies, ...set.trafficPolicies, ...set.dataRoutes]) out.set(resourceRef(r), sha256(canonicalJson(r)));
  return out;
}
