// Pure: does one AuthorizationPolicy rule match every request another matches?
// A sufficient test only (it compares key by key, never a union of entries),
// so "covers" is always true when it says so, and may say no when it is.
// The matching rules are authorize.ts's, including "unknown fails closed".
import type { AuthorizationRule } from '../resources.js';
import { parseStringPattern, type StringPattern } from '../string-pattern.js';

type Action = 'ALLOW' | 'DENY';
type From = NonNullable<AuthorizationRule['from']>[number];
type To = NonNullable<AuthorizationRule['to']>[number];

// Why comparing keys under one action is enough: the covering rule is always
// evaluated earlier, so it is a DENY, or has the action of the covered rule
// (authorize.ts: every DENY before any ALLOW). A DENY counts an attribute the
// request lacks as matching, an ALLOW as not matching, so under the covering
// rule's action an unknown attribute matches at least as often as under the
// covered rule's. Each test below compares constraints on one attribute only,
// hence: covered matches => its constraint holds or the attribute is unknown
// (then only if covered is a DENY, so the coverer is one too) => coverer matches.

/** True when `e` (evaluated first, with `eAction`) matches every request `s` matches. */
export function ruleCovers(e: AuthorizationRule, eAction: Action, s: AuthorizationRule): boolean {
  // An absent list is one entry without keys: it matches anything.
  const eFrom = e.from ?? [{}];
  const sFrom = s.from ?? [{}];
  const eTo = e.to ?? [{}];
  const sTo = s.to ?? [{}];
  // Every entry of s must be inside some one entry of e (sufficient for "any of s => any of e").
  return sFrom.every((fs) => eFrom.some((fe) => fromCovers(fe, fs))) && sTo.every((ts) => eTo.some((te) => toCovers(te, eAction, ts)));
}

function fromCovers(e: From, s: From): boolean {
  // principals: "*" matches every caller (an authenticated ID is never empty).
  if (e.principals && !(e.principals.includes('*') || (s.principals !== undefined && patternsCover(e.principals, s.principals)))) return false;
  if (e.notPrincipals && !excludes(e.notPrincipals, s.principals, s.notPrincipals)) return false;
  if (e.namespaces && !(s.namespaces !== undefined && subset(s.namespaces, e.namespaces))) return false;
  if (e.notNamespaces && !((s.notNamespaces !== undefined && subset(e.notNamespaces, s.notNamespaces)) || (s.namespaces !== undefined && disjointSets(s.namespaces, e.notNamespaces)))) return false;
  if (e.trustDomains && !(s.trustDomains !== undefined && subset(s.trustDomains, e.trustDomains))) return false;
  if (e.regions && !(s.regions !== undefined && subset(s.regions, e.regions))) return false;
  return true;
}

function toCovers(e: To, eAction: Action, s: To): boolean {
  if (e.ports && !(s.ports !== undefined && subset(s.ports, e.ports))) return false;
  if (e.methods && !(s.methods !== undefined && subset(s.methods, e.methods))) return false;
  // paths "*" in a DENY matches every request: an HTTP request's normalized path is never
  // empty, and a stream (no path) counts as matching. In an ALLOW, "*" still needs a path.
  if (e.paths && !((eAction === 'DENY' && e.paths.includes('*')) || (s.paths !== undefined && patternsCover(e.paths, s.paths)))) return false;
  if (e.notPaths && !excludes(e.notPaths, s.paths, s.notPaths)) return false;
  return true;
}

/**
 * A "not" list of e holds for every value s lets through: s excludes at least
 * as much (each of e's patterns inside one of s's "not" patterns), or every
 * pattern s requires is disjoint from each of e's.
 */
function excludes(eNot: readonly string[], sYes: readonly string[] | undefined, sNot: readonly string[] | undefined): boolean {
  if (sNot !== undefined && patternsCover(sNot, eNot)) return true;
  if (sYes === undefined) return false;
  const yes = sYes.map(parseStringPattern);
  const no = eNot.map(parseStringPattern);
  return yes.every((y) => no.every((n) => y !== undefined && n !== undefined && disjoint(y, n)));
}

/** Every pattern of `inner` matches only strings some pattern of `outer` matches. */
export function patternsCover(outer: readonly string[], inner: readonly string[]): boolean {
  const o = outer.map(parseStringPattern);
  return inner.every((text) => {
    const i = parseStringPattern(text);
    return i !== undefined && o.some((p) => p !== undefined && patternCovers(p, i));
  });
}

export function patternCovers(outer: StringPattern, inner: StringPattern): boolean {
  if (outer.kind === 'any') return true;
  if (inner.kind === 'any') return false;
  if (outer.kind === 'exact') return inner.kind === 'exact' && inner.value === outer.value;
  if (outer.kind === 'prefix') return (inner.kind === 'exact' || inner.kind === 'prefix') && inner.value.startsWith(outer.value);
  return (inner.kind === 'exact' || inner.kind === 'suffix') && inner.value.endsWith(outer.value);
}

/** No string matches both (false when it cannot be shown simply: a prefix and a suffix, or "*"). */
export function disjoint(a: StringPattern, b: StringPattern): boolean {
  if (a.kind === 'any' || b.kind === 'any') return false;
  if (a.kind === 'exact') return !matches(b, a.value);
  if (b.kind === 'exact') return !matches(a, b.value);
  if (a.kind === 'prefix' && b.kind === 'prefix') return !a.value.startsWith(b.value) && !b.value.startsWith(a.value);
  if (a.kind === 'suffix' && b.kind === 'suffix') return !a.value.endsWith(b.value) && !b.value.endsWith(a.value);
  return false;
}

function matches(p: StringPattern, s: string): boolean {
  if (s.length === 0) return false;
  switch (p.kind) {
    case 'any': return true;
    case 'exact': return s === p.value;
    case 'prefix': return s.startsWith(p.value);
    case 'suffix': return s.endsWith(p.value);
  }
}

function subset<T>(inner: readonly T[], outer: readonly T[]): boolean {
  return inner.every((x) => outer.includes(x));
}

function disjointSets<T>(a: readonly T[], b: readonly T[]): boolean {
  return !a.some((x) => b.includes(x));
}
