// Properties of authorize over random policy sets and requests (fast-check,
// time-boxed): never throws, DENY wins, ALLOW and DENY are monotone, and the
// L4 check is never more permissive than the L7 check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authorize, compilePolicies, type AuthzDecision, type AuthzRequest } from './authorize.js';
import { AuthorizationPolicySchema, type AuthorizationPolicy } from './resources.js';

const IDS = [
  'spiffe://eu.lab/ns/web/sa/frontend',
  'spiffe://eu.lab/ns/shop/sa/admin',
  'spiffe://us.lab/ns/shop/sa/cart',
  'spiffe://us.lab/ns/web/sa/x',
  'spiffe://eu.lab/edge/device-7',
];
const PRINCIPALS = ['*', IDS[0]!, 'spiffe://eu.lab/ns/web/*', '*/sa/admin', IDS[2]!, 'spiffe://us.lab/*'];
const NAMESPACES = ['web', 'shop'];
const SERVICES = ['cart', 'payments'];
const TRUST_DOMAINS = ['eu.lab', 'us.lab'];
const REGIONS = ['eu', 'us'];
const PORTS = [80, 8080];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATHS = ['/admin*', '/api/v1', '*.png', '*', '/api/*'];
const REQUEST_PATHS = ['/', '/admin', '/admin/x', '/api/v1', '/api/v1/y', '/a.png', '//admin', '/x/../api/v1', '/%61dmin'];

const some = (values: readonly (string | number)[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 });

const fromEntry = fc.record(
  {
    principals: some(PRINCIPALS), notPrincipals: some(PRINCIPALS), namespaces: some(NAMESPACES),
    notNamespaces: some(NAMESPACES), trustDomains: some(TRUST_DOMAINS), regions: some(REGIONS),
  },
  { requiredKeys: [] },
);
const toEntry = fc.record({ ports: some(PORTS), methods: some(METHODS), paths: some(PATHS), notPaths: some(PATHS) }, { requiredKeys: [] });
const rule = fc.record(
  { from: fc.array(fromEntry, { minLength: 1, maxLength: 2 }), to: fc.array(toEntry, { minLength: 1, maxLength: 2 }) },
  { requiredKeys: [] },
);
const policySpec = fc.record(
  { selector: fc.record({ services: some(SERVICES) }), action: fc.constantFrom('ALLOW', 'DENY'), rules: fc.array(rule, { maxLength: 3 }) },
  { requiredKeys: [] },
);
const policyInput = fc.record({ namespace: fc.constantFrom(...NAMESPACES), spec: policySpec });

function toPolicy(input: { namespace: string; spec: object }, index: number, prefix = 'p'): AuthorizationPolicy {
  return AuthorizationPolicySchema.parse({
    apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: `${prefix}${index}`, namespace: input.namespace }, spec: input.spec,
  });
}

const policies = fc.array(policyInput, { maxLength: 5 }).map((list) => list.map((p, i) => toPolicy(p, i)));

const l4Request = fc
  .record({
    id: fc.constantFrom(...IDS),
    knowsNamespace: fc.boolean(),
    region: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
    namespace: fc.constantFrom(...NAMESPACES),
    service: fc.constantFrom(...SERVICES),
    port: fc.constantFrom(...PORTS),
  })
  .map((r): AuthzRequest => {
    const ns = /\/ns\/([^/]+)/.exec(r.id)?.[1];
    return {
      caller: {
        id: r.id,
        trustDomain: new URL(r.id).host,
        ...(r.knowsNamespace && ns !== undefined ? { namespace: ns } : {}),
        ...(r.region === undefined ? {} : { region: r.region }),
      },
      service: { namespace: r.namespace, name: r.service },
      port: r.port,
    };
  });
const l7Fields = fc.record({ method: fc.constantFrom(...METHODS, 'get'), path: fc.constantFrom(...REQUEST_PATHS) });
const request = fc.tuple(l4Request, fc.option(l7Fields, { nil: undefined })).map(([r, l7]) => ({ ...r, ...l7 }));

const RUN = { numRuns: 400, interruptAfterTimeLimit: 6000 };

test('authorize: never throws; a decision names a policy of the right action that applies', () => {
  fc.assert(
    fc.property(policies, request, (ps, req) => {
      const d = authorize(compilePolicies(ps), req);
      if (d.kind === 'deny') assert.ok(d.reason.length > 0);
      const id = d.kind === 'allow' ? d.policy : d.policy;
      if (id === undefined) return;
      const p = ps.find((x) => `${x.metadata.namespace}/${x.metadata.name}` === id);
      assert.ok(p, `decision names unknown policy ${id}`);
      assert.equal(p.spec.action, d.kind === 'allow' ? 'ALLOW' : 'DENY');
      assert.equal(p.metadata.namespace, req.service.namespace);
      assert.ok(!p.spec.selector || p.spec.selector.services.includes(req.service.name));
      assert.ok(d.rule !== undefined && d.rule < (p.spec.rules?.length ?? 0));
    }),
    RUN,
  );
});

const deniedByPolicy = (d: AuthzDecision) => d.kind === 'deny' && d.policy !== undefined;

test('authorize: DENY wins — extra ALLOW policies never override a DENY match', () => {
  fc.assert(
    fc.property(policies, fc.array(policyInput, { maxLength: 3 }), request, (ps, extra, req) => {
      const before = authorize(compilePolicies(ps), req);
      fc.pre(deniedByPolicy(before));
      const allows = extra.map((e, i) => toPolicy({ ...e, spec: { ...e.spec, action: 'ALLOW' } }, i, 'extra'));
      assert.deepEqual(authorize(compilePolicies([...ps, ...allows]), req), before);
    }),
    RUN,
  );
});

test('authorize: adding an ALLOW rule never turns an allow into a deny', () => {
  fc.assert(
    fc.property(policies, rule, fc.nat(), request, (ps, extraRule, which, req) => {
      fc.pre(authorize(compilePolicies(ps), req).kind === 'allow');
      const allowIdx = ps.map((p, i) => (p.spec.action === 'ALLOW' ? i : -1)).filter((i) => i >= 0);
      const target = allowIdx[which % allowIdx.length]!;
      const widened = ps.map((p, i) => (i === target ? { ...p, spec: { ...p.spec, rules: [...(p.spec.rules ?? []), toPolicy({ namespace: 'shop', spec: { rules: [extraRule] } }, 0).spec.rules![0]!] } } : p));
      assert.equal(authorize(compilePolicies(widened), req).kind, 'allow');
    }),
    RUN,
  );
});

test('authorize: adding a DENY policy never turns a deny into an allow', () => {
  fc.assert(
    fc.property(policies, policyInput, request, (ps, extra, req) => {
      fc.pre(authorize(compilePolicies(ps), req).kind === 'deny');
      const deny = toPolicy({ ...extra, spec: { ...extra.spec, action: 'DENY' } }, 0, 'extra-deny');
      assert.equal(authorize(compilePolicies([...ps, deny]), req).kind, 'deny');
    }),
    RUN,
  );
});

test('authorize: an L4 allow implies every L7 request on that stream is allowed (L4 is never more permissive)', () => {
  fc.assert(
    fc.property(policies, l4Request, l7Fields, (ps, req, l7) => {
      const compiled = compilePolicies(ps);
      fc.pre(authorize(compiled, req).kind === 'allow');
      const d = authorize(compiled, { ...req, ...l7 });
      assert.equal(d.kind, 'allow', d.kind === 'deny' ? d.reason : '');
    }),
    RUN,
  );
});
