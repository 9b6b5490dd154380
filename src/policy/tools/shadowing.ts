// Pure: AuthorizationPolicy rules that can never decide a request, because a
// rule authorize() checks earlier matches every request they match.
//
// authorize() checks the policies of the Service's namespace that apply to it,
// every DENY before any ALLOW, each group by name, each policy's rules in
// order, and the first match decides (its policy and rule index are the
// decision). So rule s of policy P is shadowed by rule e when e comes first in
// that order, e's policy applies to every Service P applies to, and e matches
// every request s matches (rule-cover.ts). Only such single-rule covers are
// found: a rule covered by several earlier rules together is not reported.
import type { AuthorizationPolicy } from '../resources.js';
import type { Origin } from '../load-resources.js';
import { ruleCovers } from './rule-cover.js';

export interface PolicyAt {
  readonly policy: AuthorizationPolicy;
  readonly origin: Origin;
}

export interface ShadowedRule {
  readonly policy: PolicyAt;
  readonly rule: number;
  /** The first rule in evaluation order that matches every request `rule` matches. */
  readonly by: { readonly policy: PolicyAt; readonly rule: number };
}

export const policyId = (p: AuthorizationPolicy): string => `${p.metadata.namespace}/${p.metadata.name}`;

/** One namespace's policies in the order authorize() checks them (compilePolicies' order). */
export function evaluationOrder<T extends { readonly policy: AuthorizationPolicy }>(policies: readonly T[]): T[] {
  return [...policies].sort((a, b) => {
    const x = a.policy.spec.action;
    const y = b.policy.spec.action;
    if (x !== y) return x === 'DENY' ? -1 : 1;
    const ia = policyId(a.policy);
    const ib = policyId(b.policy);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
}

/**
 * e applies to every Service p applies to. A policy without selector applies
 * to every Service of its namespace, also those declared later, so only
 * another policy without selector covers it.
 */
function selectorCovers(e: AuthorizationPolicy, p: AuthorizationPolicy): boolean {
  const es = e.spec.selector?.services;
  if (es === undefined) return true;
  const ps = p.spec.selector?.services;
  return ps !== undefined && ps.every((s) => es.includes(s));
}

export function findShadowedRules(policies: readonly PolicyAt[]): ShadowedRule[] {
  const byNamespace = new Map<string, PolicyAt[]>();
  for (const p of policies) {
    const ns = p.policy.metadata.namespace;
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p]);
  }
  const out: ShadowedRule[] = [];
  for (const group of byNamespace.values()) {
    const ordered = evaluationOrder(group);
    ordered.forEach((p, k) => {
      const rules = p.policy.spec.rules ?? [];
      rules.forEach((rule, j) => {
        // Earlier policies first (their rules all come before p's), then p's own earlier rules.
        const earlier = [
          ...ordered.slice(0, k).filter((e) => selectorCovers(e.policy, p.policy)).flatMap((e) => (e.policy.spec.rules ?? []).map((r, i) => ({ e, r, i }))),
          ...rules.slice(0, j).map((r, i) => ({ e: p, r, i })),
        ];
        const by = earlier.find(({ e, r }) => ruleCovers(r, e.policy.spec.action, rule));
        if (by) out.push({ policy: p, rule: j, by: { policy: by.e, rule: by.i } });
      });
    });
  }
  return out;
}
