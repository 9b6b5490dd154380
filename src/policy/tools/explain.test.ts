// explainRequest: the verdict is authorize()'s, the deciding rule is located,
// a deny names the closest ALLOW rule and its unmet keys; and a property:
// unmetKeys says "nothing unmet" exactly when authorize() lets the rule allow.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authorize, compilePolicies, type AuthzRequest } from '../authorize.js';
import { assembleResources, parseResourceText } from '../load-resources.js';
import { normalizeRequestPath } from '../request-path.js';
import { AuthorizationPolicySchema, type AuthorizationRule } from '../resources.js';
import { explainRequest, unmetKeys } from './explain.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const TREE = `${HEAD}
kind: Service
metadata: { name: cart, namespace: shop }
spec:
  ports: [{ port: 8080, protocol: http }]
---
${HEAD}
kind: AuthorizationPolicy
metadata: { name: web-reads-cart, namespace: shop }
spec:
  rules:
    - from: [{ namespaces: [shop], trustDomains: [us.lab] }]
    - from: [{ namespaces: [web] }, { principals: ["*/sa/admin"] }]
      to: [{ methods: [GET], paths: ["/api/*"] }]
---
${HEAD}
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: shop }
spec:
  action: DENY
  rules:
    - to: [{ paths: ["/admin*"] }]
`;
const loaded = assembleResources([parseResourceText('tree.yaml', TREE)]);
const WEB = 'spiffe://eu.lab/ns/web/sa/frontend';
const request = (method: string, path: string, id = WEB): AuthzRequest => ({
  caller: { id, trustDomain: new URL(id).host, ...(/\/ns\/([^/]+)/.exec(id) ? { namespace: /\/ns\/([^/]+)/.exec(id)![1]! } : {}) },
  service: { namespace: 'shop', name: 'cart' }, port: 8080, method, path,
});

describe('explainRequest', () => {
  it('(the tree loads)', () => assert.deepEqual(loaded.errors, []));

  it('an allow names the deciding rule and where it is', () => {
    const e = explainRequest(loaded.resources, loaded.located, request('GET', '/api/items'));
    assert.deepEqual([e.decision.kind, e.decidedBy], ['allow', { policy: 'shop/web-reads-cart', action: 'ALLOW', rule: 1, file: 'tree.yaml', line: 13 }]);
    assert.equal(e.closest, undefined);
  });

  it('a default deny names the closest ALLOW rule and each key it did not meet', () => {
    const e = explainRequest(loaded.resources, loaded.located, request('DELETE', '/x/../api/items'));
    assert.equal(e.decision.kind, 'deny');
    assert.equal(e.decidedBy, undefined);
    assert.deepEqual(e.closest, { policy: 'shop/web-reads-cart', action: 'ALLOW', rule: 1, file: 'tree.yaml', line: 13, unmet: ['to[0].methods: DELETE is not one of "GET"'] });
  });

  it('a deny by a DENY rule names it, and an ALLOW rule that matched too has nothing unmet', () => {
    const e = explainRequest(loaded.resources, loaded.located, request('GET', '/admin', 'spiffe://us.lab/ns/shop/sa/x'));
    assert.deepEqual(e.decidedBy, { policy: 'shop/no-admin', action: 'DENY', rule: 0, file: 'tree.yaml', line: 22 });
    assert.deepEqual([e.closest?.rule, e.closest?.unmet], [0, []]);
  });

  it('with no ALLOW policy for the Service, says so', () => {
    const other = { ...request('GET', '/'), service: { namespace: 'web', name: 'frontend' } };
    const e = explainRequest(loaded.resources, loaded.located, other);
    assert.deepEqual([e.decision.kind, e.closest, e.noAllowPolicy], ['deny', undefined, true]);
  });
});

// --- property: unmetKeys agrees with authorize() ---------------------------

const IDS = ['spiffe://eu.lab/ns/web/sa/frontend', 'spiffe://eu.lab/ns/shop/sa/admin', 'spiffe://us.lab/ns/web/sa/x', 'spiffe://eu.lab/edge/device-7'];
const some = <T extends string | number>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 });
const fromEntry = fc.record({
  principals: some(['*', IDS[0]!, 'spiffe://eu.lab/ns/web/*', '*/sa/admin']), notPrincipals: some(['spiffe://us.lab/*', IDS[1]!]),
  namespaces: some(['web', 'shop']), notNamespaces: some(['web', 'shop']), trustDomains: some(['eu.lab', 'us.lab']), regions: some(['eu', 'us']),
}, { requiredKeys: [] });
const toEntry = fc.record({ ports: some([80, 8080]), methods: some(['GET', 'POST']), paths: some(['/admin*', '*', '/api/*', '*.png']), notPaths: some(['/admin*', '*.png']) }, { requiredKeys: [] });
const rule = fc.record({ from: fc.array(fromEntry, { minLength: 1, maxLength: 2 }), to: fc.array(toEntry, { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] });
const req = fc.record({
  id: fc.constantFrom(...IDS), knowsNs: fc.boolean(), region: fc.option(fc.constantFrom('eu', 'us'), { nil: undefined }), port: fc.constantFrom(80, 8080),
  l7: fc.option(fc.record({ method: fc.constantFrom('GET', 'POST', 'get'), path: fc.constantFrom('/', '/admin', '/api/v1', '/a.png', '/x/../admin') }), { nil: undefined }),
}).map((r): AuthzRequest => {
  const ns = /\/ns\/([^/]+)/.exec(r.id)?.[1];
  return {
    caller: { id: r.id, trustDomain: new URL(r.id).host, ...(r.knowsNs && ns ? { namespace: ns } : {}), ...(r.region ? { region: r.region } : {}) },
    service: { namespace: 'shop', name: 'cart' }, port: r.port, ...(r.l7 ?? {}),
  };
});

describe('unmetKeys, property', () => {
  it('nothing unmet exactly when authorize() allows by the rule', () => {
    fc.assert(
      fc.property(rule, req, (r: AuthorizationRule, q) => {
        const policy = AuthorizationPolicySchema.parse({ apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: { rules: [r] } });
        const allowed = authorize(compilePolicies([policy]), q).kind === 'allow';
        const path = q.path === undefined ? undefined : normalizeRequestPath(q.path);
        const unmet = unmetKeys(policy.spec.rules![0]!, { caller: q.caller, port: q.port, method: q.method?.toUpperCase(), path: path?.ok ? path.path : undefined });
        assert.equal(unmet.length === 0, allowed, `unmet ${JSON.stringify(unmet)}, authorize ${allowed ? 'allows' : 'denies'}`);
      }),
      { numRuns: 1000, interruptAfterTimeLimit: 6000 },
    );
  });
});
