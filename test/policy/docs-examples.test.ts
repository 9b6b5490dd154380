// The YAML examples in docs/policy.md must load without errors and behave as
// the doc says: this keeps the reference and the code from drifting apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRAFFIC, authorize, compilePolicies, compileTrafficPolicies, loadResourceDir, type AuthzRequest } from '../../src/policy/index.js';

// dist/test/policy/ -> repository root
const DOC = fileURLToPath(new URL('../../../docs/policy.md', import.meta.url));

function fenced(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

const caller = (id: string, region: string): AuthzRequest['caller'] => ({
  id,
  trustDomain: new URL(id).host,
  namespace: /\/ns\/([^/]+)/.exec(id)?.[1],
  region,
});
const EU_FRONTEND = caller('spiffe://eu.example.org/ns/web/sa/frontend', 'eu');
const US_SHOP = caller('spiffe://us.example.org/ns/shop/sa/cart', 'us');
const EU_SHOP = caller('spiffe://eu.example.org/ns/shop/sa/cart', 'eu');
const CART = { namespace: 'shop', name: 'cart' };
const PAYMENTS = { namespace: 'shop', name: 'payments' };

test('docs/policy.md: every yaml example loads, and the example policies decide as documented', async () => {
  const markdown = await readFile(DOC, 'utf8');
  const blocks = fenced(markdown, 'yaml');
  assert.equal(blocks.length, 4, 'one example block per kind, and the TrafficPolicy one');
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-docs-'));
  try {
    for (const [i, text] of blocks.entries()) await writeFile(join(dir, `example-${i}.yaml`), text);
    const { resources, errors } = await loadResourceDir(dir);
    assert.deepEqual(errors.map((e) => e.message), []);
    assert.deepEqual(resources.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['shop/cart', 'shop/payments', 'web/frontend']);
    assert.equal(resources.workloads.length, 2);
    const compiled = compilePolicies(resources.authorizationPolicies);

    assert.deepEqual(authorize(compiled, { caller: EU_FRONTEND, service: CART, port: 8080, method: 'GET', path: '/api/items' }), { kind: 'allow', policy: 'shop/frontend-to-cart', rule: 0 });
    const del = authorize(compiled, { caller: EU_FRONTEND, service: CART, port: 8080, method: 'DELETE', path: '/api/items' });
    assert.equal(del.kind, 'deny');
    // The default-deny reason reads exactly as the doc's template.
    const template = /`(no ALLOW rule matches <caller> -> <ns>\/<svc>:<port> \(default deny\))`/.exec(markdown)?.[1];
    assert.ok(template, 'the doc states the default-deny reason');
    assert.equal(del.kind === 'deny' && del.reason, template.replace('<caller>', EU_FRONTEND.id).replace('<ns>/<svc>:<port>', 'shop/cart:8080'));

    const admin = authorize(compiled, { caller: US_SHOP, service: CART, port: 8080, method: 'GET', path: '/admin/users' });
    assert.equal(admin.kind, 'deny');
    assert.equal(admin.kind === 'deny' && admin.policy, 'shop/admin-eu-only');
    assert.deepEqual(authorize(compiled, { caller: EU_SHOP, service: CART, port: 8080, method: 'GET', path: '/admin/users' }), { kind: 'allow', policy: 'shop/shop-internal', rule: 0 });
    assert.deepEqual(authorize(compiled, { caller: US_SHOP, service: PAYMENTS, port: 9000 }), { kind: 'allow', policy: 'shop/shop-internal', rule: 0 });
    assert.equal(authorize(compiled, { caller: EU_FRONTEND, service: PAYMENTS, port: 9000 }).kind, 'deny');

    // The mode is each port's declared protocol: cart's rules test methods and paths, so its port is http; payments' is tcp.
    const protocols = Object.fromEntries(resources.services.map((s) => [s.metadata.name, s.spec.ports.map((p) => `${p.port}->${p.targetPort}/${p.protocol}`)]));
    assert.deepEqual(protocols, { cart: ['8080->8080/http'], payments: ['9000->19000/tcp'], frontend: ['80->80/http'] });
    // At a TCP port's stream open, the DENY on /admin paths fails closed for non-EU callers: no path, so it matches.
    assert.equal(authorize(compiled, { caller: US_SHOP, service: CART, port: 8080 }).kind, 'deny');

    // The TrafficPolicy example: cart's port 8080, with what its comment says.
    const traffic = compileTrafficPolicies(resources.trafficPolicies, resources.services.map((s) => ({ namespace: s.metadata.namespace, name: s.metadata.name, ports: s.spec.ports })));
    const cart = traffic.settingsFor('shop', 'cart', 8080);
    assert.equal(cart.policy, 'shop/cart-callers');
    assert.equal(cart.requestTimeoutMs, 15_000);
    assert.deepEqual([...cart.retry.retryOn].sort(), ['connect-failure', 'gateway-error', 'refused-stream']);
    assert.equal(cart.retry.isRetryable('POST', '/api/retry/7'), true);
    assert.equal(cart.retry.isRetryable('POST', '/api/items'), false);
    assert.equal(cart.locality, 'region');
    assert.equal(traffic.settingsFor('shop', 'payments', 9000), DEFAULT_TRAFFIC);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
