// The text of `entente policy explain`: the verdict, what decided it, and for
// a deny the closest ALLOW rule and the keys of it the request did not meet.
import type { AuthzRequest } from '../policy/authorize.js';
import type { Assumed } from '../policy/tools/authz-request.js';
import { describeRequest } from '../policy/tools/authz-request.js';
import type { Explanation, RuleRef } from '../policy/tools/explain.js';

const at = (r: RuleRef): string => (r.file === undefined ? '' : ` (${r.file}${r.line === undefined ? '' : `:${r.line}`})`);
const name = (r: RuleRef): string => `${r.action} ${r.policy}#${r.rule}`;

export function formatExplanation(req: AuthzRequest, assumed: Assumed, e: Explanation): string {
  const lines = [`${e.decision.kind}  ${describeRequest(req)}`];
  const filled = [
    ...(assumed.port !== undefined ? [`port ${assumed.port} (the Service's only port)`] : []),
    ...(assumed.method !== undefined ? [`method ${assumed.method}`] : []),
    ...(assumed.path !== undefined ? [`path ${assumed.path}`] : []),
  ];
  if (filled.length > 0) lines.push(`assumed: ${filled.join(', ')}${assumed.method !== undefined || assumed.path !== undefined ? ' (an http port is authorized per request)' : ''}`);
  if (e.decidedBy) lines.push(`decided by: ${name(e.decidedBy)}${at(e.decidedBy)}`);
  else if (e.decision.kind === 'deny') lines.push(e.decision.reason.includes('default deny') ? 'decided by: default deny: no policy allows it' : `decided by: ${e.decision.reason}`);
  if (e.decision.kind === 'deny') {
    if (e.closest && e.closest.unmet.length === 0) {
      lines.push(`closest allowing rule: ${name(e.closest)}${at(e.closest)} matches too, but every DENY policy is checked before any ALLOW`);
    } else if (e.closest) {
      lines.push(`closest allowing rule: ${name(e.closest)}${at(e.closest)}; not met:`);
      for (const u of e.closest.unmet) lines.push(`  ${u}`);
    } else if (e.noAllowPolicy) {
      lines.push(`no ALLOW policy of namespace ${req.service.namespace} applies to ${req.service.namespace}/${req.service.name}`);
    } else {
      lines.push('the ALLOW policies that apply have no rules');
    }
  }
  return `${lines.join('\n')}\n`;
}
