// Policy test cases: a bad CASES.yaml is reported by index and key with its
// line; each case is put to the real authorizer as an agent would put it
// (tcp: a stream, http: a request, GET / unless given) and passes only with
// the expected verdict (and rule, when given).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../load-resources.js';
import { buildAuthzRequest } from './authz-request.js';
import { formatCaseResult, parseCases, runCases } from './cases.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const TREE = `${HEAD}
kind: Service
metadata: { name: cart, namespace: shop }
spec:
  ports: [{ port: 8080, protocol: http }, { port: 9090 }]
---
${HEAD}
kind: Service
metadata: { name: payments, namespace: shop }
spec:
  ports: [{ port: 9000 }]
---
${HEAD}
kind: Service
metadata: { name: payments, namespace: billing }
spec:
  ports: [{ port: 9000 }]
---
${HEAD}
kind: AuthorizationPolicy
metadata: { name: web-reads-cart, namespace: shop }
spec:
  selector: { services: [cart] }
  rules:
    - from: [{ namespaces: [web] }]
      to: [{ ports: [8080], methods: [GET] }]
---
${HEAD}
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: shop }
spec:
  selector: { services: [cart] }
  action: DENY
  rules:
    - to: [{ paths: ["/admin*"] }]
`;
const loaded = assembleResources([parseResourceText('tree.yaml', TREE)]);
const set = loaded.resources;
const WEB = 'spiffe://eu.lab/ns/web/sa/frontend';

describe('parseCases', () => {
  it('(the tree loads)', () => assert.deepEqual(loaded.errors, []));

  it('reports every bad case by index and key, with its line', () => {
    const r = parseCases(`- from: ${WEB}\n  to: shop/cart\n  expect: alow\n- to: shop/cart\n  expect: deny\n  porrt: 80\n`, 'cases.yaml');
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map((p) => p.message), [
      'cases.yaml:3: [0].expect: got "alow"; expected one of "allow", "deny"',
      'cases.yaml:4: [1].from: required; expected the caller\'s SPIFFE ID, e.g. "spiffe://eu.example.org/ns/web/sa/frontend"',
      'cases.yaml:6: [1].porrt: unknown key "porrt" (did you mean "port"?)',
    ]);
  });

  it('a good file gives each case its line', () => {
    const r = parseCases(`# cases\n- from: ${WEB}\n  to: cart\n  expect: deny\n- from: ${WEB}\n  to: cart\n  expect: deny\n`, 'cases.yaml');
    assert.ok(r.ok);
    assert.deepEqual(r.cases.map((c) => c.line), [2, 5]);
  });
});

describe('buildAuthzRequest', () => {
  it('asks a tcp port once per stream and an http port per request (GET / unless given)', () => {
    const tcp = buildAuthzRequest(set, { from: WEB, to: 'cart', port: 9090 });
    assert.ok(tcp.ok);
    assert.deepEqual(tcp.request, { caller: { id: WEB, trustDomain: 'eu.lab', namespace: 'web' }, service: { namespace: 'shop', name: 'cart' }, port: 9090 });
    const http = buildAuthzRequest(set, { from: WEB, to: 'shop/cart', port: 8080, region: 'eu' });
    assert.ok(http.ok);
    assert.deepEqual([http.request.method, http.request.path, http.request.caller.region], ['GET', '/', 'eu']);
    assert.deepEqual(http.assumed, { method: 'GET', path: '/' });
  });

  it('refuses what no agent would ask, saying why', () => {
    const problem = (spec: Parameters<typeof buildAuthzRequest>[1]) => {
      const r = buildAuthzRequest(set, spec);
      assert.ok(!r.ok);
      return `${r.problems[0]!.key}: ${r.problems[0]!.message}`;
    };
    assert.match(problem({ from: 'web', to: 'cart', port: 8080 }), /^from: "web" is not a SPIFFE ID/);
    assert.match(problem({ from: WEB, to: 'payments' }), /^to: "payments" is a Service in several namespaces \(billing\/payments, shop\/payments\)/);
    assert.match(problem({ from: WEB, to: 'shop/carts' }), /^to: no Service "shop\/carts" in the directory \(Services: /);
    assert.equal(problem({ from: WEB, to: 'cart' }), 'port: required: shop/cart has ports 8080 (http), 9090 (tcp)');
    assert.match(problem({ from: WEB, to: 'cart', port: 18080 }), /^port: shop\/cart has no port 18080/);
    assert.match(problem({ from: WEB, to: 'cart', port: 9090, method: 'GET' }), /^method: port 9090 of shop\/cart is tcp: a stream is authorized once, without a method or path/);
  });
});

describe('runCases', () => {
  const run = (text: string) => {
    const parsed = parseCases(text, 'cases.yaml');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    return runCases(set, parsed.cases);
  };

  it('passes a case with the expected verdict and rule, fails one with another, and names what decided', () => {
    const results = run([
      `- { name: web reads, from: "${WEB}", to: shop/cart, port: 8080, method: GET, path: /items, expect: allow, rule: "shop/web-reads-cart#0" }`,
      `- { name: web admin, from: "${WEB}", to: shop/cart, port: 8080, path: /admin, expect: allow }`,
      `- { from: "${WEB}", to: shop/cart, port: 8080, method: POST, expect: deny }`,
      `- { name: wrong rule, from: "${WEB}", to: shop/cart, port: 8080, path: /admin, expect: deny, rule: "shop/web-reads-cart#0" }`,
      `- { name: no such port, from: "${WEB}", to: shop/cart, port: 1, expect: deny }`,
      '',
    ].join('\n'));
    assert.deepEqual(results.map((r) => [r.name, r.passed, r.got ?? r.problem]), [
      ['web reads', true, 'allow by shop/web-reads-cart#0'],
      ['web admin', false, 'deny by shop/no-admin#0'],
      ['case [2]', true, 'deny (default: no ALLOW rule matches)'],
      ['wrong rule', false, 'deny by shop/no-admin#0'],
      ['no such port', false, 'port: shop/cart has no port 1 (it has 8080 (http), 9090 (tcp); ports are Service ports, not target ports)'],
    ]);
    assert.equal(formatCaseResult(results[0]!, 'cases.yaml'), `pass  web reads: allow by shop/web-reads-cart#0 (${WEB} -> shop/cart:8080 GET /items)`);
    assert.equal(formatCaseResult(results[1]!, 'cases.yaml'), `FAIL  web admin: expected allow, got deny by shop/no-admin#0 (${WEB} -> shop/cart:8080 GET /admin; cases.yaml:2)`);
    assert.equal(formatCaseResult(results[3]!, 'cases.yaml'), `FAIL  wrong rule: expected deny by shop/web-reads-cart#0, got deny by shop/no-admin#0 (${WEB} -> shop/cart:8080 GET /admin; cases.yaml:4)`);
    assert.match(formatCaseResult(results[4]!, 'cases.yaml'), /^FAIL {2}no such port: cannot be asked: port: .* \(cases\.yaml:5\)$/);
  });
});
