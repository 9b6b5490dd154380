// `entente policy explain`: the real authorizer's verdict for one request,
// the policy and rule that decided it, and for a deny the ALLOW rule that
// came closest and the keys of it the request did not satisfy. Pure.
//
// The verdict is always authorize()'s; the key-by-key reasons below follow
// its matching rules (docs/policy.md "Authorization semantics") to say why.
import { authorize, compilePolicies, type AuthzDecision, type AuthzRequest } from '../authorize.js';
import type { LocatedResource } from '../load-resources.js';
import { normalizeRequestPath } from '../request-path.js';
import type { ResourceSet } from '../resource-set.js';
import type { AuthorizationPolicy, AuthorizationRule } from '../resources.js';
import { compilePatternSet, matchesPatternSet, parseStringPattern, type StringPattern } from '../string-pattern.js';
import { evaluationOrder, policyId } from './shadowing.js';

export interface RuleRef {
  /** "namespace/name" */
  readonly policy: string;
  readonly action: 'ALLOW' | 'DENY';
  readonly rule: number;
  readonly file?: string;
  readonly line?: number;
}

export interface Explanation {
  readonly decision: AuthzDecision;
  /** The rule that decided; absent for a default deny (or a path refused before any policy). */
  readonly decidedBy?: RuleRef;
  /** For a deny: the ALLOW rule with the fewest unmet keys (the first such in evaluation order). */
  readonly closest?: RuleRef & {
    /** What of the rule the request does not satisfy, one line per key; [] when it matches (a DENY won). */
    readonly unmet: readonly string[];
  };
  /** For a deny with no ALLOW policy that applies to the Service at all. */
  readonly noAllowPolicy?: boolean;
}

export function explainRequest(set: ResourceSet, located: readonly LocatedResource[], req: AuthzRequest): Explanation {
  const decision = authorize(compilePolicies(set.authorizationPolicies), req);
  const where = (p: AuthorizationPolicy, rule: number): RuleRef => {
    const l = located.find((x) => x.resource === p);
    const line = l?.lineOf(['spec', 'rules', rule]);
    return { policy: policyId(p), action: p.spec.action, rule, ...(l ? { file: l.file } : {}), ...(line === undefined ? {} : { line }) };
  };
  const byId = (id: string | undefined) => set.authorizationPolicies.find((p) => policyId(p) === id);
  const decider = byId(decision.policy);
  const decidedBy = decider !== undefined && decision.rule !== undefined ? where(decider, decision.rule) : undefined;
  if (decision.kind === 'allow') return { decision, ...(decidedBy ? { decidedBy } : {}) };

  const path = req.path === undefined ? undefined : normalizeRequestPath(req.path);
  if (path !== undefined && !path.ok) return { decision }; // refused before any policy: nothing comes closer
  const attrs: Attrs = { ...req, method: req.method?.toUpperCase(), path: path?.path };
  const allows = evaluationOrder(
    set.authorizationPolicies
      .filter((p) => p.metadata.namespace === req.service.namespace && p.spec.action === 'ALLOW')
      .filter((p) => p.spec.selector === undefined || p.spec.selector.services.includes(req.service.name))
      .map((policy) => ({ policy })),
  ).map((p) => p.policy);
  let closest: Explanation['closest'];
  for (const p of allows) {
    (p.spec.rules ?? []).forEach((rule, i) => {
      const unmet = unmetKeys(rule, attrs);
      if (closest === undefined || unmet.length < closest.unmet.length) closest = { ...where(p, i), unmet };
    });
  }
  return { decision, ...(decidedBy ? { decidedBy } : {}), ...(closest ? { closest } : {}), ...(allows.length === 0 ? { noAllowPolicy: true } : {}) };
}

interface Attrs {
  readonly caller: AuthzRequest['caller'];
  readonly port: number;
  readonly method: string | undefined;
  readonly path: string | undefined;
}

const list = (xs: readonly (string | number)[]): string => xs.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ');

function matchesAny(patterns: readonly string[], s: string): boolean {
  return matchesPatternSet(compilePatternSet(patterns.map(parseStringPattern).filter((p): p is StringPattern => p !== undefined)), s);
}

/**
 * Why an ALLOW rule does not match, as authorize() decides it: for `from` and
 * `to` each, the entry with the fewest unmet keys (any one entry matching is
 * enough). An attribute the request lacks does not match in an ALLOW rule.
 */
export function unmetKeys(rule: AuthorizationRule, a: Attrs): string[] {
  const best = <T>(entries: readonly T[] | undefined, key: string, check: (e: T) => string[]): string[] => {
    if (entries === undefined) return [];
    let out: string[] | undefined;
    entries.forEach((e, i) => {
      const unmet = check(e).map((u) => `${key}[${i}].${u}`);
      if (out === undefined || unmet.length < out.length) out = unmet;
    });
    return out ?? [];
  };
  const c = a.caller;
  const from = best(rule.from, 'from', (f) => {
    const u: string[] = [];
    if (f.principals && !matchesAny(f.principals, c.id)) u.push(`principals: the caller ${c.id} matches none of ${list(f.principals)}`);
    if (f.notPrincipals && matchesAny(f.notPrincipals, c.id)) u.push(`notPrincipals: the caller ${c.id} matches one of ${list(f.notPrincipals)}`);
    if (f.trustDomains && !f.trustDomains.includes(c.trustDomain)) u.push(`trustDomains: the caller's trust domain "${c.trustDomain}" is not one of ${list(f.trustDomains)}`);
    if (f.namespaces && !(c.namespace !== undefined && f.namespaces.includes(c.namespace))) u.push(`namespaces: ${c.namespace === undefined ? 'the caller\'s SPIFFE ID has no /ns/<namespace>/' : `the caller's namespace "${c.namespace}" is not one of ${list(f.namespaces)}`}`);
    if (f.notNamespaces && !(c.namespace !== undefined && !f.notNamespaces.includes(c.namespace))) u.push(`notNamespaces: ${c.namespace === undefined ? 'the caller\'s SPIFFE ID has no /ns/<namespace>/' : `the caller's namespace "${c.namespace}" is listed`}`);
    if (f.regions && !(c.region !== undefined && f.regions.includes(c.region))) u.push(`regions: ${c.region === undefined ? 'the caller\'s region is not known (give it: --region, or region: in a case)' : `the caller's region "${c.region}" is not one of ${list(f.regions)}`}`);
    return u;
  });
  const to = best(rule.to, 'to', (t) => {
    const u: string[] = [];
    if (t.ports && !t.ports.includes(a.port)) u.push(`ports: port ${a.port} is not one of ${list(t.ports)}`);
    if (t.methods && !(a.method !== undefined && t.methods.includes(a.method))) u.push(`methods: ${a.method === undefined ? 'a stream on a tcp port has no method' : `${a.method} is not one of ${list(t.methods)}`}`);
    if (t.paths && !(a.path !== undefined && matchesAny(t.paths, a.path))) u.push(`paths: ${a.path === undefined ? 'a stream on a tcp port has no path' : `${a.path} matches none of ${list(t.paths)}`}`);
    if (t.notPaths && !(a.path !== undefined && !matchesAny(t.notPaths, a.path))) u.push(`notPaths: ${a.path === undefined ? 'a stream on a tcp port has no path' : `${a.path} matches one of ${list(t.notPaths)}`}`);
    return u;
  });
  return [...from, ...to];
}
