// `entente policy test`: a CASES.yaml (a list of requests and the verdict
// each must get) checked with its zod schema, and each case decided by the
// real authorizer over a resource set. Pure: text in, results out.
import * as z from 'zod';
import { checkConfigText, type ConfigProblem } from '../../core/config-file.js';
import { parseYamlSource } from '../../core/yaml-source.js';
import { authorize, compilePolicies, type AuthzDecision, type AuthzRequest } from '../authorize.js';
import type { ResourceSet } from '../resource-set.js';
import { buildAuthzRequest, describeRequest } from './authz-request.js';

const RULE_TEXT = 'a rule as "namespace/policy#index", e.g. "shop/frontend-to-cart#0"';

export const policyCaseSchema = z.strictObject({
  name: z.string({ error: 'a name for the case' }).optional(),
  from: z.string({ error: 'the caller\'s SPIFFE ID, e.g. "spiffe://eu.example.org/ns/web/sa/frontend"' }),
  to: z.string({ error: 'a Service: "namespace/service", or "service" when one namespace has it' }),
  port: z.number({ error: 'a Service port 1-65535' }).int({ error: 'a Service port 1-65535' }).min(1, { error: 'a Service port 1-65535' }).max(65535, { error: 'a Service port 1-65535' }).optional(),
  method: z.string({ error: 'an HTTP method, e.g. "GET"' }).optional(),
  path: z.string({ error: 'a request path, e.g. "/api/items"' }).optional(),
  region: z.string({ error: 'the caller\'s region name' }).optional(),
  expect: z.enum(['allow', 'deny'], { error: 'one of "allow", "deny"' }),
  rule: z.string({ error: RULE_TEXT }).regex(/^[a-z0-9-]+\/[a-z0-9-]+#\d+$/, { error: RULE_TEXT }).optional(),
});

export const policyCasesSchema = z.array(policyCaseSchema, { error: 'a list of cases' }).min(1, { error: 'a non-empty list of cases' });

export type PolicyCase = z.output<typeof policyCaseSchema>;

export interface LocatedCase {
  readonly index: number;
  readonly line?: number;
  readonly case: PolicyCase;
}

export type ParsedCases = { readonly ok: true; readonly cases: readonly LocatedCase[] } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Pure: CASES.yaml text to cases, or every problem (by index and key, with its line). */
export function parseCases(text: string, file: string): ParsedCases {
  const r = checkConfigText(policyCasesSchema, text, file);
  if (!r.ok) return r;
  const src = parseYamlSource(text);
  return { ok: true, cases: r.value.map((c, index) => ({ index, ...lineField(src.lineOf([index])), case: c })) };
}

const lineField = (line: number | undefined) => (line === undefined ? {} : { line });

export interface CaseResult {
  readonly index: number;
  readonly name: string;
  readonly line?: number;
  readonly passed: boolean;
  readonly expected: string;
  /** The verdict and what decided it; absent when the case could not be put as a request. */
  readonly got?: string;
  readonly request?: string;
  readonly decision?: AuthzDecision;
  /** Why the case could not be evaluated (a Service or port the directory does not have, ...). */
  readonly problem?: string;
}

/** "allow by shop/frontend-to-cart#0", "deny by shop/admin-eu-only#0", "deny (default: no ALLOW rule matches)". */
export function describeVerdict(d: AuthzDecision): string {
  if (d.kind === 'allow') return `allow by ${d.policy}#${d.rule}`;
  if (d.policy !== undefined) return `deny by ${d.policy}#${d.rule ?? 0}`;
  return d.reason.includes('default deny') ? 'deny (default: no ALLOW rule matches)' : `deny (${d.reason})`;
}

function decidingRule(d: AuthzDecision): string | undefined {
  return d.policy === undefined ? undefined : `${d.policy}#${d.rule ?? 0}`;
}

export function runCases(set: ResourceSet, cases: readonly LocatedCase[]): CaseResult[] {
  const compiled = compilePolicies(set.authorizationPolicies);
  return cases.map(({ index, line, case: c }) => {
    const name = c.name ?? `case [${index}]`;
    const expected = c.rule !== undefined ? `${c.expect} by ${c.rule}` : c.expect;
    const base = { index, name, ...lineField(line), expected };
    const built = buildAuthzRequest(set, c);
    if (!built.ok) {
      const p = built.problems[0]!;
      return { ...base, passed: false, problem: `${p.key}: ${p.message}` };
    }
    const request: AuthzRequest = built.request;
    const decision = authorize(compiled, request);
    const passed = decision.kind === c.expect && (c.rule === undefined || decidingRule(decision) === c.rule);
    return { ...base, passed, got: describeVerdict(decision), request: describeRequest(request), decision };
  });
}

/** One line per case: "pass  name: verdict" or "FAIL  name: expected X, got Y". */
export function formatCaseResult(r: CaseResult, file: string): string {
  const at = `${file}${r.line === undefined ? '' : `:${r.line}`}`;
  if (r.problem !== undefined) return `FAIL  ${r.name}: cannot be asked: ${r.problem} (${at})`;
  if (r.passed) return `pass  ${r.name}: ${r.got} (${r.request})`;
  return `FAIL  ${r.name}: expected ${r.expected}, got ${r.got} (${r.request}; ${at})`;
}
