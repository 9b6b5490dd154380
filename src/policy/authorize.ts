// Authorization decisions, pure: policies are compiled once per resource set
// and every stream open (TCP port) or HTTP request (HTTP port) is decided from
// them. Which of the two a port gets is its declared protocol, never a policy.
// DENY wins, then any ALLOW, otherwise default deny. docs/policy.md has the semantics.
import type { AuthorizationPolicy } from './resources.js';
import { compilePatternSet, matchesPatternSet, parseStringPattern, type PatternSet, type StringPattern } from './string-pattern.js';
import { normalizeRequestPath } from './request-path.js';

export interface AuthzRequest {
  readonly caller: {
    /** The caller's SPIFFE ID as authenticated by mTLS. */
    readonly id: string;
    readonly trustDomain: string;
    /** From /ns/<ns>/ in the SPIFFE ID path; undefined when the ID has none. */
    readonly namespace?: string;
    /** The caller's region; undefined when unknown. */
    readonly region?: string;
  };
  readonly service: { readonly namespace: string; readonly name: string };
  /** The Service port (spec.ports[].port), not the target port. */
  readonly port: number;
  /** Both undefined: the L4 stream-open check. */
  readonly method?: string;
  readonly path?: string;
}

export type AuthzDecision =
  | { readonly kind: 'allow'; readonly policy: string; readonly rule: number }
  | { readonly kind: 'deny'; readonly reason: string; readonly policy?: string; readonly rule?: number };

interface CompiledFrom {
  readonly principals?: PatternSet;
  readonly notPrincipals?: PatternSet;
  readonly namespaces?: ReadonlySet<string>;
  readonly notNamespaces?: ReadonlySet<string>;
  readonly trustDomains?: ReadonlySet<string>;
  readonly regions?: ReadonlySet<string>;
}

interface CompiledTo {
  readonly ports?: ReadonlySet<number>;
  readonly methods?: ReadonlySet<string>;
  readonly paths?: PatternSet;
  readonly notPaths?: PatternSet;
}

interface CompiledRule {
  readonly from?: readonly CompiledFrom[];
  readonly to?: readonly CompiledTo[];
}

interface CompiledPolicy {
  /** "namespace/name" */
  readonly id: string;
  readonly action: 'ALLOW' | 'DENY';
  /** undefined: every service in the namespace. */
  readonly services?: ReadonlySet<string>;
  readonly rules: readonly CompiledRule[];
}

/** Immutable; per namespace, DENY policies first, then ALLOW, each by name. */
export interface CompiledPolicies {
  readonly byNamespace: ReadonlyMap<string, readonly CompiledPolicy[]>;
}

const patterns = (list: readonly string[] | undefined): PatternSet | undefined =>
  list && compilePatternSet(list.map((s) => parseStringPattern(s)).filter((p): p is StringPattern => p !== undefined));
const set = <T>(list: readonly T[] | undefined): ReadonlySet<T> | undefined => list && new Set(list);

/** Inputs are validated resources (the schema has checked every pattern). */
export function compilePolicies(policies: readonly AuthorizationPolicy[]): CompiledPolicies {
  const compiled = policies.map((p): CompiledPolicy => {
    const rules = (p.spec.rules ?? []).map((r): CompiledRule => ({
      ...(r.from && { from: r.from.map((f) => dropUndefined({
        principals: patterns(f.principals), notPrincipals: patterns(f.notPrincipals),
        namespaces: set(f.namespaces), notNamespaces: set(f.notNamespaces),
        trustDomains: set(f.trustDomains), regions: set(f.regions),
      })) }),
      ...(r.to && { to: r.to.map((t) => dropUndefined({
        ports: set(t.ports), methods: set(t.methods), paths: patterns(t.paths), notPaths: patterns(t.notPaths),
      })) }),
    }));
    return {
      id: `${p.metadata.namespace}/${p.metadata.name}`,
      action: p.spec.action,
      ...(p.spec.selector && { services: new Set(p.spec.selector.services) }),
      rules,
    };
  });
  compiled.sort((a, b) => (a.action !== b.action ? (a.action === 'DENY' ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byNamespace = new Map<string, CompiledPolicy[]>();
  for (const p of compiled) {
    const ns = p.id.slice(0, p.id.indexOf('/'));
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p]);
  }
  return { byNamespace };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function applies(p: CompiledPolicy, service: { namespace: string; name: string }): boolean {
  return p.services === undefined || p.services.has(service.name);
}

/**
 * A request attribute the check needs but does not have (method or path at
 * L4, an unknown caller namespace or region) counts as matching in a DENY
 * policy and as not matching in an ALLOW policy: unknown never opens a door.
 */
interface Attributes {
  readonly id: string;
  readonly trustDomain: string;
  readonly namespace: string | undefined;
  readonly region: string | undefined;
  readonly port: number;
  readonly method: string | undefined;
  readonly path: string | undefined;
}

function fromMatches(f: CompiledFrom, a: Attributes, unknown: boolean): boolean {
  if (f.principals && !matchesPatternSet(f.principals, a.id)) return false;
  if (f.notPrincipals && matchesPatternSet(f.notPrincipals, a.id)) return false;
  if (f.trustDomains && !f.trustDomains.has(a.trustDomain)) return false;
  if (f.namespaces && !(a.namespace === undefined ? unknown : f.namespaces.has(a.namespace))) return false;
  if (f.notNamespaces && !(a.namespace === undefined ? unknown : !f.notNamespaces.has(a.namespace))) return false;
  if (f.regions && !(a.region === undefined ? unknown : f.regions.has(a.region))) return false;
  return true;
}

function toMatches(t: CompiledTo, a: Attributes, unknown: boolean): boolean {
  if (t.ports && !t.ports.has(a.port)) return false;
  if (t.methods && !(a.method === undefined ? unknown : t.methods.has(a.method))) return false;
  if (t.paths && !(a.path === undefined ? unknown : matchesPatternSet(t.paths, a.path))) return false;
  if (t.notPaths && !(a.path === undefined ? unknown : !matchesPatternSet(t.notPaths, a.path))) return false;
  return true;
}

function ruleMatches(r: CompiledRule, a: Attributes, unknown: boolean): boolean {
  return (!r.from || r.from.some((f) => fromMatches(f, a, unknown))) && (!r.to || r.to.some((t) => toMatches(t, a, unknown)));
}

function firstMatchingRule(p: CompiledPolicy, a: Attributes, unknown: boolean): number {
  for (let i = 0; i < p.rules.length; i++) if (ruleMatches(p.rules[i]!, a, unknown)) return i;
  return -1;
}

function describeRequest(req: AuthzRequest, path: string | undefined): string {
  const http = req.method !== undefined || path !== undefined ? ` ${req.method ?? '-'} ${path ?? '-'}` : '';
  return `${req.caller.id} -> ${req.service.namespace}/${req.service.name}:${req.port}${http}`;
}

export function authorize(compiled: CompiledPolicies, req: AuthzRequest): AuthzDecision {
  let path: string | undefined;
  if (req.path !== undefined) {
    const n = normalizeRequestPath(req.path);
    if (!n.ok) return { kind: 'deny', reason: `request path ${JSON.stringify(req.path)} refused: ${n.reason} (${describeRequest(req, undefined)})` };
    path = n.path;
  }
  const a: Attributes = {
    id: req.caller.id,
    trustDomain: req.caller.trustDomain,
    namespace: req.caller.namespace,
    region: req.caller.region,
    port: req.port,
    // HTTP methods are case-sensitive, but some apps are not: compare upper-cased so "get" cannot dodge a DENY on GET.
    method: req.method?.toUpperCase(),
    path,
  };
  // One pass: each namespace's list holds every DENY before any ALLOW.
  for (const p of compiled.byNamespace.get(req.service.namespace) ?? []) {
    if (!applies(p, req.service)) continue;
    const deny = p.action === 'DENY';
    const i = firstMatchingRule(p, a, deny);
    if (i === -1) continue;
    if (deny) return { kind: 'deny', policy: p.id, rule: i, reason: `DENY policy ${p.id} rules[${i}] matches ${describeRequest(req, path)}` };
    return { kind: 'allow', policy: p.id, rule: i };
  }
  return { kind: 'deny', reason: `no ALLOW rule matches ${req.caller.id} -> ${req.service.namespace}/${req.service.name}:${req.port} (default deny)` };
}
