// Table-driven tests of the authorization decision (HTTP requests and TCP stream opens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, compilePolicies, type AuthzRequest } from './authorize.js';
import { AuthorizationPolicySchema, type AuthorizationPolicy } from './resources.js';

/** Builds a policy through the schema, so defaults apply exactly as when loaded from YAML. */
function policy(name: string, spec: Record<string, unknown>, namespace = 'shop'): AuthorizationPolicy {
  return AuthorizationPolicySchema.parse({
    apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec,
  });
}

const FRONTEND = 'spiffe://eu.lab/ns/web/sa/frontend';

interface ReqInput {
  id?: string;
  trustDomain?: string;
  namespace?: string | null;
  region?: string | null;
  service?: string;
  serviceNs?: string;
  port?: number;
  method?: string;
  path?: string;
}

/** Defaults: web/frontend from region eu calls shop/cart:8080 at L4. null removes an attribute. */
function req(i: ReqInput = {}): AuthzRequest {
  return {
    caller: {
      id: i.id ?? FRONTEND,
      trustDomain: i.trustDomain ?? 'eu.lab',
      ...(i.namespace === null ? {} : { namespace: i.namespace ?? 'web' }),
      ...(i.region === null ? {} : { region: i.region ?? 'eu' }),
    },
    service: { namespace: i.serviceNs ?? 'shop', name: i.service ?? 'cart' },
    port: i.port ?? 8080,
    ...(i.method === undefined ? {} : { method: i.method }),
    ...(i.path === undefined ? {} : { path: i.path }),
  };
}

type Expect = { allow: string; rule?: number } | { deny: string | RegExp; policy?: string; rule?: number };

interface Case {
  readonly name: string;
  readonly policies: AuthorizationPolicy[];
  readonly req: AuthzRequest;
  readonly expect: Expect;
}

const allowFrom = (name: string, from: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  policy(name, { ...extra, rules: [{ from: [from] }] });
const denyFrom = (name: string, from: Record<string, unknown>) => policy(name, { action: 'DENY', rules: [{ from: [from] }] });
const allowTo = (name: string, to: Record<string, unknown>) => policy(name, { rules: [{ to: [to] }] });
const denyTo = (name: string, to: Record<string, unknown>) => policy(name, { action: 'DENY', rules: [{ to: [to] }] });
const allowAll = (name = 'allow-all') => policy(name, { rules: [{}] });

const DEFAULT_DENY = `no ALLOW rule matches ${FRONTEND} -> shop/cart:8080 (default deny)`;

const cases: Case[] = [
  { name: 'no policies: default deny', policies: [], req: req(), expect: { deny: DEFAULT_DENY } },
  { name: 'exact principal allows', policies: [allowFrom('a', { principals: [FRONTEND] })], req: req(), expect: { allow: 'shop/a', rule: 0 } },
  { name: 'other principal: default deny', policies: [allowFrom('a', { principals: ['spiffe://eu.lab/ns/web/sa/other'] })], req: req(), expect: { deny: DEFAULT_DENY } },
  { name: 'prefix glob principal', policies: [allowFrom('a', { principals: ['spiffe://eu.lab/ns/web/*'] })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'prefix glob does not cross trust domains', policies: [allowFrom('a', { principals: ['spiffe://eu.lab/ns/web/*'] })], req: req({ id: 'spiffe://us.lab/ns/web/sa/frontend', trustDomain: 'us.lab' }), expect: { deny: /default deny/ } },
  { name: 'suffix glob principal matches any trust domain', policies: [allowFrom('a', { principals: ['*/sa/frontend'] })], req: req({ id: 'spiffe://us.lab/ns/web/sa/frontend', trustDomain: 'us.lab' }), expect: { allow: 'shop/a' } },
  { name: '"*" principal: any authenticated caller', policies: [allowFrom('a', { principals: ['*'] })], req: req({ id: 'spiffe://x.y/anything' }), expect: { allow: 'shop/a' } },
  { name: 'namespace allows', policies: [allowFrom('a', { namespaces: ['web'] })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'unknown caller namespace never matches an ALLOW', policies: [allowFrom('a', { namespaces: ['web'] })], req: req({ namespace: null }), expect: { deny: /default deny/ } },
  { name: 'trust domain allows', policies: [allowFrom('a', { trustDomains: ['eu.lab'] })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'other trust domain: default deny', policies: [allowFrom('a', { trustDomains: ['eu.lab'] })], req: req({ trustDomain: 'us.lab', id: 'spiffe://us.lab/ns/web/sa/frontend' }), expect: { deny: /default deny/ } },
  { name: 'region allows', policies: [allowFrom('a', { regions: ['eu', 'us'] })], req: req({ region: 'us' }), expect: { allow: 'shop/a' } },
  { name: 'unknown region never matches an ALLOW', policies: [allowFrom('a', { regions: ['eu'] })], req: req({ region: null }), expect: { deny: /default deny/ } },
  { name: 'fields in one from-entry are ANDed', policies: [allowFrom('a', { namespaces: ['web'], regions: ['us'] })], req: req({ region: 'eu' }), expect: { deny: /default deny/ } },
  { name: 'from-entries are ORed', policies: [policy('a', { rules: [{ from: [{ regions: ['us'] }, { namespaces: ['web'] }] }] })], req: req({ region: 'eu' }), expect: { allow: 'shop/a' } },
  { name: 'DENY wins over ALLOW', policies: [allowAll(), denyFrom('block-web', { namespaces: ['web'] })], req: req(), expect: { deny: `DENY policy shop/block-web rules[0] matches ${FRONTEND} -> shop/cart:8080`, policy: 'shop/block-web', rule: 0 } },
  { name: 'DENY with unknown region fails closed', policies: [allowAll(), denyFrom('block-us', { regions: ['us'] })], req: req({ region: null }), expect: { deny: /DENY policy shop\/block-us/, policy: 'shop/block-us' } },
  { name: 'non-matching DENY lets the ALLOW through', policies: [allowAll(), denyFrom('block-us', { regions: ['us'] })], req: req(), expect: { allow: 'shop/allow-all' } },
  { name: 'notPrincipals excludes', policies: [allowFrom('a', { principals: ['spiffe://eu.lab/ns/web/*'], notPrincipals: [FRONTEND] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'notPrincipals lets others in', policies: [allowFrom('a', { notPrincipals: ['spiffe://eu.lab/ns/web/sa/other'] })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'notNamespaces excludes', policies: [allowFrom('a', { notNamespaces: ['web'] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'notNamespaces with unknown namespace: ALLOW does not match', policies: [allowFrom('a', { notNamespaces: ['web'] })], req: req({ namespace: null }), expect: { deny: /default deny/ } },
  { name: 'selector naming another service does not apply', policies: [allowFrom('a', { principals: ['*'] }, { selector: { services: ['payments'] } })], req: req(), expect: { deny: /default deny/ } },
  { name: 'selector naming this service applies', policies: [allowFrom('a', { principals: ['*'] }, { selector: { services: ['payments', 'cart'] } })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'policy in another namespace does not apply', policies: [policy('a', { rules: [{}] }, 'web')], req: req(), expect: { deny: /default deny/ } },
  { name: 'port allowed', policies: [allowTo('a', { ports: [8080] })], req: req(), expect: { allow: 'shop/a' } },
  { name: 'other port denied', policies: [allowTo('a', { ports: [8080] })], req: req({ port: 9090 }), expect: { deny: `no ALLOW rule matches ${FRONTEND} -> shop/cart:9090 (default deny)` } },
  { name: 'L7: method allowed', policies: [allowTo('a', { methods: ['GET', 'HEAD'] })], req: req({ method: 'GET', path: '/' }), expect: { allow: 'shop/a' } },
  { name: 'L7: other method denied', policies: [allowTo('a', { methods: ['GET'] })], req: req({ method: 'POST', path: '/' }), expect: { deny: /default deny/ } },
  { name: 'L4: ALLOW with methods does not match', policies: [allowTo('a', { methods: ['GET'] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'L4: ALLOW with paths does not match', policies: [allowTo('a', { paths: ['*'] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'L4: ALLOW with notPaths does not match', policies: [allowTo('a', { notPaths: ['/admin*'] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'L4: DENY with methods matches (fail closed)', policies: [allowAll(), denyTo('no-delete', { methods: ['DELETE'] })], req: req(), expect: { deny: /DENY policy shop\/no-delete/ } },
  { name: 'L4: DENY with notPaths matches (fail closed)', policies: [allowAll(), denyTo('only-health', { notPaths: ['/health'] })], req: req(), expect: { deny: /DENY policy shop\/only-health/ } },
  { name: 'L4: DENY with paths matches (fail closed)', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req(), expect: { deny: /DENY policy shop\/no-admin rules\[0\]/, policy: 'shop/no-admin', rule: 0 } },
  { name: 'L7: DENY on another path lets the ALLOW through', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET', path: '/cart' }), expect: { allow: 'shop/allow-all' } },
  { name: 'L7: DENY on the path denies and names method and path', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET', path: '/admin/users' }), expect: { deny: `DENY policy shop/no-admin rules[0] matches ${FRONTEND} -> shop/cart:8080 GET /admin/users` } },
  { name: 'L7: method only, path unknown: DENY on paths fails closed', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET' }), expect: { deny: /shop\/no-admin/ } },
  { name: 'exact path', policies: [allowTo('a', { paths: ['/api/v1'] })], req: req({ method: 'GET', path: '/api/v1' }), expect: { allow: 'shop/a' } },
  { name: 'exact path is not a prefix', policies: [allowTo('a', { paths: ['/api/v1'] })], req: req({ method: 'GET', path: '/api/v1/x' }), expect: { deny: /default deny/ } },
  { name: 'prefix path', policies: [allowTo('a', { paths: ['/api/*'] })], req: req({ method: 'GET', path: '/api/v1/x' }), expect: { allow: 'shop/a' } },
  { name: 'suffix path', policies: [allowTo('a', { paths: ['*.png'] })], req: req({ method: 'GET', path: '/img/logo.png' }), expect: { allow: 'shop/a' } },
  { name: 'query string is not part of the path', policies: [allowTo('a', { paths: ['/api/v1'] })], req: req({ method: 'GET', path: '/api/v1?debug=1' }), expect: { allow: 'shop/a' } },
  { name: 'notPaths excludes', policies: [allowTo('a', { notPaths: ['/admin*'] })], req: req({ method: 'GET', path: '/admin' }), expect: { deny: /default deny/ } },
  { name: 'notPaths allows the rest', policies: [allowTo('a', { notPaths: ['/admin*'] })], req: req({ method: 'GET', path: '/shop' }), expect: { allow: 'shop/a' } },
  { name: 'path tricks are normalized before a DENY: //admin', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET', path: '//admin' }), expect: { deny: /shop\/no-admin/ } },
  { name: 'path tricks are normalized before a DENY: /x/../admin', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET', path: '/x/../admin' }), expect: { deny: /shop\/no-admin/ } },
  { name: 'path tricks are normalized before a DENY: /%61dmin', policies: [allowAll(), denyTo('no-admin', { paths: ['/admin*'] })], req: req({ method: 'GET', path: '/%61dmin' }), expect: { deny: /shop\/no-admin/ } },
  { name: 'encoded slash is refused outright', policies: [allowAll()], req: req({ method: 'GET', path: '/a%2Fb' }), expect: { deny: /request path "\/a%2Fb" refused/ } },
  { name: 'lower-case method cannot dodge a DENY', policies: [allowAll(), denyTo('no-delete', { methods: ['DELETE'] })], req: req({ method: 'delete', path: '/' }), expect: { deny: /shop\/no-delete/ } },
  { name: 'ALLOW without rules matches nothing', policies: [policy('a', {})], req: req(), expect: { deny: /default deny/ } },
  { name: 'ALLOW with rules: [] matches nothing', policies: [policy('a', { rules: [] })], req: req(), expect: { deny: /default deny/ } },
  { name: 'DENY without rules matches nothing', policies: [allowAll(), policy('d', { action: 'DENY' })], req: req(), expect: { allow: 'shop/allow-all' } },
  { name: 'rules: [{}] matches everything, L7 too', policies: [allowAll()], req: req({ method: 'PATCH', path: '/x' }), expect: { allow: 'shop/allow-all', rule: 0 } },
  { name: 'the matching rule index is reported', policies: [policy('a', { rules: [{ from: [{ regions: ['us'] }] }, { from: [{ regions: ['eu'] }] }] })], req: req(), expect: { allow: 'shop/a', rule: 1 } },
  { name: 'ALLOW policies are tried in name order', policies: [allowAll('zz'), allowAll('aa')], req: req(), expect: { allow: 'shop/aa' } },
  { name: 'from and to must both match', policies: [policy('a', { rules: [{ from: [{ namespaces: ['web'] }], to: [{ ports: [9090] }] }] })], req: req(), expect: { deny: /default deny/ } },
];

for (const c of cases) {
  test(`authorize: ${c.name}`, () => {
    const d = authorize(compilePolicies(c.policies), c.req);
    if ('allow' in c.expect) {
      assert.equal(d.kind, 'allow', d.kind === 'deny' ? d.reason : '');
      assert.equal(d.policy, c.expect.allow);
      if (c.expect.rule !== undefined) assert.equal(d.rule, c.expect.rule);
    } else {
      assert.equal(d.kind, 'deny');
      if (d.kind !== 'deny') return;
      if (typeof c.expect.deny === 'string') assert.ok(d.reason.startsWith(c.expect.deny), d.reason);
      else assert.match(d.reason, c.expect.deny);
      if (c.expect.policy !== undefined) assert.equal(d.policy, c.expect.policy);
      if (c.expect.rule !== undefined) assert.equal(d.rule, c.expect.rule);
    }
  });
}

test('authorize: the default-deny reason is exact', () => {
  const d = authorize(compilePolicies([]), req());
  assert.deepEqual(d, { kind: 'deny', reason: DEFAULT_DENY });
});
