// What a region publishes about the policy it enforces, for drift detection:
// one digest per policy resource (AuthorizationPolicy, TrafficPolicy, DataRoute) and one
// over them all. Services and Workloads are left out on purpose: regions run
// different workloads by design, and counting them made identical policy
// trees look different in every region.
import { createHash } from 'node:crypto';
import { canonicalJson, type ResourceSet } from './resource-set.js';
import { resourceRef } from './resources.js';

export interface PolicyDigests {
  /** sha256 hex over the sorted per-resource digests. */
  readonly digest: string;
  /** "Kind namespace/name" -> sha256 hex of the resource's canonical JSON. */
  readonly resources: Readonly<Record<string, string>>;
}

export function policyDigests(set: ResourceSet): PolicyDigests {
  const resources: Record<string, string> = {};
  for (const r of [...set.authorizationPolicies, ...set.trafficPolicies, ...set.dataRoutes]) {
    resources[resourceRef(r)] = createHash('sha256').update(canonicalJson(r)).digest('hex');
  }
  return { digest: createHash('sha256').update(canonicalJson(resources)).digest('hex'), resources };
}
