// Pure: AuthorizationPolicy sources that name a caller no resource of the
// directory defines. Services are mesh-wide (every region declares every
// Service) and a Workload's namespace must have its Service, so a namespace
// without a Service holds no mesh workload in any region: naming it is an
// error. A service account no Workload of the directory uses is a warning
// only: another region's Workloads may live in that region's own files.
// (A selector, Workload or TrafficPolicy naming an undeclared Service is the
// loader's UNKNOWN_SERVICE, check-policy-targets.ts.)
import { SpiffeId } from '../../identity/spiffe-id.js';
import { closestName } from '../../core/schema-keys.js';
import { resourceRef, type AuthorizationPolicy } from '../resources.js';
import type { LocatedResource } from '../load-resources.js';
import type { PathSegment } from '../resource-error.js';
import { parseStringPattern } from '../string-pattern.js';
import { makeFinding, type Finding } from './finding.js';

/** What a principal pattern says about the caller's namespace and service account, where it names them whole. */
export interface PrincipalNames {
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

export function principalNames(pattern: string): PrincipalNames {
  const p = parseStringPattern(pattern);
  if (!p || p.kind === 'any') return {};
  if (p.kind === 'exact') {
    const id = SpiffeId.check(pattern);
    if (!id.ok) return {};
    const s = id.value.segments;
    return { ...(s[0] === 'ns' && s[1] ? { namespace: s[1] } : {}), ...(id.value.isWorkloadId ? { serviceAccount: s[3]! } : {}) };
  }
  if (p.kind === 'prefix') {
    // spiffe://td/ns/<ns>/...: the namespace is whole when a "/" follows it.
    const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\//.exec(p.value);
    return m ? { namespace: m[1]! } : {};
  }
  // */ns/<ns>/sa/<sa> or */sa/<sa>: whole segments, since the text starts with "/".
  const full = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(p.value);
  if (full) return { namespace: full[1]!, serviceAccount: full[2]! };
  const sa = /^\/sa\/([^/]+)$/.exec(p.value);
  return sa ? { serviceAccount: sa[1]! } : {};
}

export function findDanglingReferences(located: readonly LocatedResource[]): Finding[] {
  const namespaces = new Set<string>();
  const accounts = new Map<string, Set<string>>();
  for (const { resource: r } of located) {
    if (r.kind === 'Service') namespaces.add(r.metadata.namespace);
    if (r.kind === 'Workload') accounts.set(r.metadata.namespace, (accounts.get(r.metadata.namespace) ?? new Set()).add(r.spec.serviceAccount));
  }
  const out: Finding[] = [];
  for (const l of located) {
    if (l.resource.kind !== 'AuthorizationPolicy') continue;
    const policy: AuthorizationPolicy = l.resource;
    const at = (path: PathSegment[], severity: Finding['severity'], code: string, text: string) =>
      out.push(makeFinding({ severity, category: 'dangling', code, origin: l, resource: resourceRef(policy), path, text }));
    const unknownNamespace = (path: PathSegment[], ns: string, what: string) => {
      const guess = closestName(ns, [...namespaces]);
      at(path, 'error', 'UNKNOWN_NAMESPACE', `${what} namespace "${ns}" has no Service in this directory, so no mesh workload calls from it (namespaces with Services: ${[...namespaces].sort().join(', ') || 'none'})${guess ? `; did you mean "${guess}"?` : ''}`);
    };
    (policy.spec.rules ?? []).forEach((rule, r) => {
      (rule.from ?? []).forEach((from, f) => {
        const base: PathSegment[] = ['spec', 'rules', r, 'from', f];
        for (const key of ['namespaces', 'notNamespaces'] as const) {
          from[key]?.forEach((ns, i) => {
            if (!namespaces.has(ns)) unknownNamespace([...base, key, i], ns, 'the');
          });
        }
        for (const key of ['principals', 'notPrincipals'] as const) {
          from[key]?.forEach((pattern, i) => {
            const path = [...base, key, i];
            const names = principalNames(pattern);
            if (names.namespace !== undefined && !namespaces.has(names.namespace)) {
              unknownNamespace(path, names.namespace, `${JSON.stringify(pattern)} names`);
              return;
            }
            if (names.serviceAccount === undefined || accounts.size === 0) return;
            const inNs = names.namespace === undefined ? [...accounts.values()].flatMap((s) => [...s]) : [...(accounts.get(names.namespace) ?? [])];
            if (inNs.includes(names.serviceAccount)) return;
            const scope = names.namespace === undefined ? 'in any namespace' : `in namespace "${names.namespace}"`;
            const guess = closestName(names.serviceAccount, inNs);
            at(path, 'warning', 'UNKNOWN_SERVICE_ACCOUNT', `no Workload in this directory runs as service account "${names.serviceAccount}" ${scope} (${inNs.length > 0 ? `there: ${[...new Set(inNs)].sort().join(', ')}` : 'none there'})${guess ? `; did you mean "${guess}"?` : ''}; Workloads of other regions may be in their own files`);
          });
        }
      });
    });
  }
  return out;
}
