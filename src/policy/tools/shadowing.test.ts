// findShadowedRules: examples of each kind of shadow and of look-alikes that
// are not, then a time-boxed property over random policy sets checked with
// the real authorizer: a rule reported shadowed never decides any request,
// and its shadower matches every request it matches.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authorize, compilePolicies, type AuthzRequest } from '../authorize.js';
import { AuthorizationPolicySchema, type AuthorizationPolicy } from '../resources.js';
import { findShadowedRules, type PolicyAt } from './shadowing.js';

function policy(name: string, spec: object, namespace = 'shop'): AuthorizationPolicy {
  return AuthorizationPolicySchema.parse({ apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec });
}
const at = (policies: AuthorizationPolicy[]): PolicyAt[] => policies.map((p) => ({ policy: p, origin: { file: 'p.yaml', document: 0, lineOf: () => undefined } }));
const found = (policies: AuthorizationPolicy[]): string[] =>
  findShadowedRules(at(policies)).map((s) => `${s.policy.policy.metadata.name}#${s.rule} by ${s.by.policy.policy.metadata.name}#${s.by.rule}`);

const US = 'spiffe://us.lab/ns/web/sa/x';

describe('findShadowedRules', () => {
  it('a later rule of the same policy inside an earlier one', () => {
    assert.deepEqual(found([policy('a', { rules: [{ from: [{ namespaces: ['web'] }] }, { from: [{ namespaces: ['web'] }], to: [{ methods: ['GET'] }] }] })]), ['a#1 by a#0']);
  });

  it('an ALLOW rule inside a DENY rule, whatever the names', () => {
    const deny = policy('z-deny', { action: 'DENY', rules: [{ from: [{ notPrincipals: ['spiffe://eu.lab/*'] }] }] });
    const allow = policy('a-allow', { selector: { services: ['cart'] }, rules: [{ from: [{ principals: [US] }] }] });
    assert.deepEqual(found([allow, deny]), ['a-allow#0 by z-deny#0']);
  });

  it('an ALLOW rule inside an ALLOW rule of a policy that comes first by name', () => {
    const wide = policy('a-wide', { rules: [{}] });
    const narrow = policy('b-narrow', { selector: { services: ['cart'] }, rules: [{ from: [{ namespaces: ['web'] }] }] });
    assert.deepEqual(found([narrow, wide]), ['b-narrow#0 by a-wide#0']);
    // Named the other way round, the narrow one comes first and decides: nothing is shadowed.
    assert.deepEqual(found([policy('z-wide', { rules: [{}] }), narrow]), []);
  });

  it('not when the earlier policy applies to fewer Services', () => {
    const deny = policy('deny', { action: 'DENY', selector: { services: ['cart'] }, rules: [{}] });
    assert.deepEqual(found([deny, policy('all', { rules: [{ from: [{ namespaces: ['web'] }] }] })]), []);
    assert.deepEqual(found([deny, policy('two', { selector: { services: ['cart', 'payments'] }, rules: [{}] })]), []);
    assert.deepEqual(found([deny, policy('cart', { selector: { services: ['cart'] }, rules: [{}] })]), ['cart#0 by deny#0']);
  });

  it('not across namespaces', () => {
    assert.deepEqual(found([policy('deny', { action: 'DENY', rules: [{}] }, 'web'), policy('allow', { rules: [{}] })]), []);
  });

  it('not an ALLOW rule without paths under an ALLOW "*" path (streams have no path), but under a DENY one', () => {
    const stream = { from: [{ namespaces: ['web'] }] };
    assert.deepEqual(found([policy('a', { rules: [{ to: [{ paths: ['*'] }] }, stream] })]), []);
    assert.deepEqual(found([policy('a', { action: 'DENY', rules: [{ to: [{ paths: ['*'] }] }] }), policy('b', { rules: [stream] })]), ['b#0 by a#0']);
  });

  it('names the first shadower in evaluation order', () => {
    const rules = [{}, {}, { from: [{ namespaces: ['web'] }] }];
    assert.deepEqual(found([policy('a', { rules })]), ['a#1 by a#0', 'a#2 by a#0']);
  });
});

// --- property: checked against authorize() --------------------------------

const IDS = ['spiffe://eu.lab/ns/web/sa/frontend', 'spiffe://eu.lab/ns/shop/sa/admin', 'spiffe://us.lab/ns/shop/sa/cart', 'spiffe://us.lab/ns/web/sa/x', 'spiffe://eu.lab/edge/device-7'];
const PRINCIPALS = ['*', IDS[0]!, 'spiffe://eu.lab/ns/web/*', '*/sa/admin', IDS[2]!, 'spiffe://us.lab/*', 'spiffe://eu.lab/*'];
const NAMESPACES = ['web', 'shop'];
const SERVICES = ['cart', 'payments'];
const PORTS = [80, 8080];
const METHODS = ['GET', 'POST'];
const PATHS = ['/admin*', '/api/v1', '*.png', '*', '/api/*'];
const REQUEST_PATHS = ['/', '/admin', '/admin/x', '/api/v1', '/api/v1/y', '/a.png'];

const some = (values: readonly (string | number)[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 });
// Few keys per entry, so that one rule often does contain another.
const fromEntry = fc.record({ principals: some(PRINCIPALS), notPrincipals: some(PRINCIPALS), namespaces: some(NAMESPACES), notNamespaces: some(NAMESPACES), trustDomains: some(['eu.lab', 'us.lab']), regions: some(['eu', 'us']) }, { requiredKeys: [] })
  .filter((f) => Object.keys(f).length <= 2);
const toEntry = fc.record({ ports: some(PORTS), methods: some(METHODS), paths: some(PATHS), notPaths: some(PATHS) }, { requiredKeys: [] })
  .filter((t) => Object.keys(t).length <= 2);
const rule = fc.record({ from: fc.array(fromEntry, { minLength: 1, maxLength: 2 }), to: fc.array(toEntry, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] });
const policySpec = fc.record({ selector: fc.record({ services: some(SERVICES) }), action: fc.constantFrom('ALLOW', 'DENY'), rules: fc.array(rule, { maxLength: 3 }) }, { requiredKeys: [] });
const policySet = fc.array(policySpec, { minLength: 1, maxLength: 5 }).map((specs) => specs.map((s, i) => policy(`p${i}`, s)));

/** Every request of the vocabulary to namespace shop: the property is checked on all of them. */
const REQUESTS: AuthzRequest[] = IDS.flatMap((id) => [true, false].flatMap((knowsNs) => [undefined, 'eu', 'us'].flatMap((region) => SERVICES.flatMap((name) => PORTS.flatMap((port) => {
  const ns = /\/ns\/([^/]+)/.exec(id)?.[1];
  const caller = { id, trustDomain: new URL(id).host, ...(knowsNs && ns ? { namespace: ns } : {}), ...(region ? { region } : {}) };
  const base = { caller, service: { namespace: 'shop', name }, port };
  return [base, ...METHODS.flatMap((method) => REQUEST_PATHS.map((path) => ({ ...base, method, path })))];
}))))) as AuthzRequest[];

/** Whether `rule` of `p` alone (same action and selector) matches `r`, by the real authorizer. */
function matchesAlone(p: AuthorizationPolicy, ruleIndex: number, r: AuthzRequest): boolean {
  const alone = { ...p, spec: { ...p.spec, rules: [p.spec.rules![ruleIndex]!] } };
  return authorize(compilePolicies([alone]), r).policy !== undefined;
}

const RUNS = 300;

describe('findShadowedRules, property', () => {
  it('a shadowed rule never decides, and its shadower matches all it matches', () => {
    let reported = 0;
    fc.assert(
      fc.property(policySet, (policies) => {
        const shadows = findShadowedRules(at(policies));
        reported += shadows.length;
        const compiled = compilePolicies(policies);
        const dead = new Set(shadows.map((s) => `shop/${s.policy.policy.metadata.name}#${s.rule}`));
        for (const r of REQUESTS) {
          const d = authorize(compiled, r);
          if (d.policy !== undefined) assert.ok(!dead.has(`${d.policy}#${d.rule}`), `${d.policy}#${d.rule} decided ${JSON.stringify(r)} but was reported shadowed`);
          for (const s of shadows) {
            if (matchesAlone(s.policy.policy, s.rule, r)) assert.ok(matchesAlone(s.by.policy.policy, s.by.rule, r), `the shadower misses ${JSON.stringify(r)}`);
          }
        }
      }),
      // Every run, however long a loaded machine takes: cut short by a time limit, the property saw too few
      // shadowed rules for the check below to mean anything (ci-under-load: 11).
      { numRuns: RUNS },
    );
    process.stdout.write(`# shadowing property: ${reported} shadowed rules reported in ${RUNS} runs\n`);
    assert.ok(reported > 20, `the property saw only ${reported} shadowed rules`);
  });
});
