// `entente policy lint`: a resource directory loaded offline with the
// controller's own loader, and what it reports, plus dangling caller
// references and rules that never decide. Pure over a load result.
import { loadResourceDir, type LocatedLoadResult } from '../load-resources.js';
import { resourceRef } from '../resources.js';
import { byLocation, fromLoaderError, makeFinding, type Finding } from './finding.js';
import { findDanglingReferences } from './dangling-references.js';
import { findShadowedRules, policyId, type PolicyAt, type ShadowedRule } from './shadowing.js';

export interface LintReport {
  /** In reading order: file, document, line. */
  readonly findings: readonly Finding[];
  readonly errors: number;
  readonly warnings: number;
}

export function lintResources(loaded: LocatedLoadResult): LintReport {
  const policies: PolicyAt[] = loaded.located.flatMap((l) => (l.resource.kind === 'AuthorizationPolicy' ? [{ policy: l.resource, origin: l }] : []));
  const findings = [
    ...loaded.errors.map(fromLoaderError),
    ...findDanglingReferences(loaded.located),
    ...findShadowedRules(policies).map(shadowFinding),
  ].sort(byLocation);
  return { findings, errors: findings.filter((f) => f.severity === 'error').length, warnings: findings.filter((f) => f.severity === 'warning').length };
}

export async function lintDirectory(dir: string): Promise<LintReport> {
  return lintResources(await loadResourceDir(dir));
}

function shadowFinding(s: ShadowedRule): Finding {
  const self = s.by.policy === s.policy;
  const byAction = s.by.policy.policy.spec.action;
  const action = s.policy.policy.spec.action;
  const byLine = s.by.policy.origin.lineOf(['spec', 'rules', s.by.rule]);
  const by = self
    ? `rules[${s.by.rule}] of this policy`
    : `${byAction} policy ${policyId(s.by.policy.policy)} rules[${s.by.rule}] (${s.by.policy.origin.file}${byLine === undefined ? '' : `:${byLine}`})`;
  const outcome = action === 'ALLOW' && byAction === 'DENY'
    ? 'so this ALLOW rule never allows anything'
    : `the request is ${action === 'ALLOW' ? 'allowed' : 'denied'} all the same, by that rule`;
  return makeFinding({
    severity: 'warning', category: 'shadowed', code: 'SHADOWED_RULE', origin: s.policy.origin, resource: resourceRef(s.policy.policy),
    path: ['spec', 'rules', s.rule],
    text: `never decides: ${by} is checked first and matches every request this rule matches; ${outcome}`,
  });
}
