// Loader tests over fixture directories written to a temp dir: a good tree
// loads; every error kind is located (file, line, key, value, expected); all
// errors come in one pass; the digest ignores layout and key order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadResourceDir, type LoadResult } from './load-resources.js';
import { digestResources, digestEachResource } from './resource-set.js';
import type { ResourceErrorCode } from './resource-error.js';

async function withDir<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, rel)), { recursive: true });
      await writeFile(join(dir, rel), text);
    }
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const load = (files: Record<string, string>): Promise<LoadResult & { dir: string }> =>
  withDir(files, async (dir) => ({ ...(await loadResourceDir(dir)), dir }));

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const CART = `${HEAD}
kind: Service
metadata: { name: cart, namespace: shop }
spec:
  ports:
    - port: 8080
      protocol: http
`;
const CART_WORKLOAD = `${HEAD}
kind: Workload
metadata: { name: cart-1, namespace: shop }
spec: { service: cart, serviceAccount: cart, node: node-a, address: 10.0.0.7 }
`;
const ALLOW_WEB = `${HEAD}
kind: AuthorizationPolicy
metadata:
  name: allow-web
  namespace: shop
spec:
  selector: { services: [cart] }
  rules:
    - from:
        - principals: ["spiffe://eu.lab/ns/web/*"]
      to:
        - ports: [8080]
          methods: [GET]
`;

test('loadResourceDir: a good tree loads, sorted, with defaults applied; non-YAML, dot-dirs and empty docs are skipped', async () => {
  const r = await load({
    'shop/cart.yaml': `${CART}---\n---\n# only a comment\n---\n${CART_WORKLOAD}`,
    'shop/policies/allow.yml': ALLOW_WEB,
    'web/frontend.yaml': `${HEAD}\nkind: Service\nmetadata: { name: frontend }\nspec: { ports: [{ port: 80, targetPort: 3000 }], export: true }\n`,
    'a-payments.yaml': `${HEAD}\nkind: Service\nmetadata: { name: payments, namespace: shop }\nspec: { ports: [{ port: 9000 }] }\n`,
    'README.md': 'kind: nonsense',
    '.git/config.yaml': 'this: [is not even valid',
    'empty.yaml': '',
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.resources.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['default/frontend', 'shop/cart', 'shop/payments']);
  const [frontend, cart] = r.resources.services;
  assert.deepEqual(frontend!.spec, { ports: [{ port: 80, targetPort: 3000, protocol: 'tcp' }], export: true });
  assert.deepEqual(cart!.spec.ports, [{ port: 8080, protocol: 'http', targetPort: 8080 }]);
  assert.equal(cart!.spec.export, false);
  assert.equal(r.resources.workloads[0]!.spec.address, '10.0.0.7');
  assert.equal(r.resources.workloads[0]!.spec.attest, undefined);
  assert.equal(r.resources.authorizationPolicies[0]!.spec.action, 'ALLOW');
});

interface ErrorCase {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly code: ResourceErrorCode;
  readonly file: string;
  readonly key: string;
  readonly value: string;
  readonly expected: RegExp;
  readonly line?: number;
}

const policyWith = (rules: string) => `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: shop }\nspec:\n  rules:\n${rules}`;

const errorCases: ErrorCase[] = [
  {
    name: 'YAML syntax error', files: { 'bad.yaml': `${HEAD}\nkind: Service\nmetadata: name: cart\nspec: {}\n` },
    code: 'YAML_SYNTAX', file: 'bad.yaml', key: '', value: '"metadata: name: cart"', expected: /^valid YAML \(Nested mappings/, line: 3,
  },
  {
    name: 'duplicate key in a mapping', files: { 'dup-key.yaml': `${HEAD}\nkind: Service\nkind: Workload\n` },
    code: 'YAML_SYNTAX', file: 'dup-key.yaml', key: '', value: '"kind: Workload"', expected: /unique/, line: 3,
  },
  {
    name: 'unknown kind', files: { 'k.yaml': `${HEAD}\nkind: Deployment\nmetadata: { name: x }\n` },
    code: 'UNKNOWN_KIND', file: 'k.yaml', key: 'kind', value: '"Deployment"', expected: /one of Service, Workload, AuthorizationPolicy, TrafficPolicy/, line: 2,
  },
  {
    name: 'wrong apiVersion', files: { 'v.yaml': CART.replace('v1alpha1', 'v1beta9') },
    code: 'INVALID_FIELD', file: 'v.yaml', key: 'apiVersion', value: '"entente.dev/v1beta9"', expected: /^"entente\.dev\/v1alpha1"$/, line: 1,
  },
  {
    name: 'a document that is not a mapping', files: { 'l.yaml': '- a\n- b\n' },
    code: 'NOT_A_RESOURCE', file: 'l.yaml', key: '', value: '["a","b"]', expected: /a mapping with apiVersion, kind/, line: 1,
  },
  {
    name: 'typo in a key', files: { 'shop.yaml': CART, 'p.yaml': policyWith('    - from:\n        - principles: ["*"]\n') },
    code: 'UNKNOWN_KEY', file: 'p.yaml', key: 'spec.rules[0].from[0].principles', value: '["*"]', expected: /did you mean "principals"\?/, line: 7,
  },
  {
    name: 'port out of range deep in a rule', files: { 'p.yaml': policyWith('    - to:\n        - ports: [8080, 70000]\n') },
    code: 'INVALID_FIELD', file: 'p.yaml', key: 'spec.rules[0].to[0].ports[1]', value: '70000', expected: /port number 1-65535/, line: 7,
  },
  {
    name: 'missing required key', files: { 'w.yaml': `${CART}---\n${CART_WORKLOAD.replace('node: node-a, ', '')}` },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.node', value: '(missing)', expected: /DNS-1123 label.*\(required\)$/, line: 12,
  },
  {
    name: 'bad namespace label', files: { 's.yaml': CART.replace('namespace: shop', 'namespace: Shop_1') },
    code: 'INVALID_FIELD', file: 's.yaml', key: 'metadata.namespace', value: '"Shop_1"', expected: /DNS-1123 label/, line: 3,
  },
  {
    name: 'bad label key', files: { 's.yaml': CART.replace('namespace: shop }', 'namespace: shop, labels: { "Bad Key": x } }') },
    code: 'INVALID_FIELD', file: 's.yaml', key: 'metadata.labels["Bad Key"]', value: '"Bad Key"', expected: /label key/, line: 3,
  },
  {
    name: 'glob star in the middle of a principal', files: { 'p.yaml': policyWith('    - from:\n        - principals: ["spiffe://eu.lab/ns/*/sa/web"]\n') },
    code: 'INVALID_FIELD', file: 'p.yaml', key: 'spec.rules[0].from[0].principals[0]', value: '"spiffe://eu.lab/ns/*/sa/web"', expected: /leading or trailing "\*"/, line: 7,
  },
  {
    name: 'lower-case method', files: { 'p.yaml': policyWith('    - to:\n        - methods: [get]\n') },
    code: 'INVALID_FIELD', file: 'p.yaml', key: 'spec.rules[0].to[0].methods[0]', value: '"get"', expected: /upper-case HTTP method/,
  },
  {
    name: 'empty matcher list', files: { 'p.yaml': policyWith('    - from:\n        - namespaces: []\n') },
    code: 'INVALID_FIELD', file: 'p.yaml', key: 'spec.rules[0].from[0].namespaces', value: '[]', expected: /leave the key out/,
  },
  {
    name: 'bad action', files: { 'p.yaml': `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: p }\nspec: { action: allow }\n` },
    code: 'INVALID_FIELD', file: 'p.yaml', key: 'spec.action', value: '"allow"', expected: /one of "ALLOW", "DENY"/, line: 4,
  },
  {
    name: 'not an IP address', files: { 'w.yaml': `${CART}---\n${CART_WORKLOAD.replace('10.0.0.7', 'cart.local')}` },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.address', value: '"cart.local"', expected: /IPv4 or IPv6 address/,
  },
  {
    name: 'duplicate service port', files: { 's.yaml': `${CART}    - port: 8080\n` },
    code: 'INVALID_FIELD', file: 's.yaml', key: 'spec.ports[1].port', value: '8080', expected: /not already listed \(ports\[0\] has 8080\)/, line: 8,
  },
  {
    name: 'two service ports on one target port (the agent sees only the target port)', files: { 's.yaml': `${CART}    - port: 80\n      targetPort: 8080\n` },
    code: 'INVALID_FIELD', file: 's.yaml', key: 'spec.ports[1].targetPort', value: '8080', expected: /a targetPort no other port uses \(ports\[0\] already targets 8080;/,
  },
  {
    name: 'the removed l7 key points to ports[].protocol', files: { 's.yaml': `${CART}  l7: true\n` },
    code: 'INVALID_FIELD', file: 's.yaml', key: 'spec.l7', value: 'true', expected: /no such key any more: set protocol: http on each HTTP port \(spec\.ports\[\]\.protocol\)/, line: 8,
  },
  {
    name: 'duplicate resource across files', files: { 'a.yaml': CART, 'b/again.yaml': CART.replace('port: 8080', 'port: 9090') },
    code: 'DUPLICATE_RESOURCE', file: 'b/again.yaml', key: 'metadata.name', value: '"cart"', expected: /first defined in .*a\.yaml document 0/, line: 3,
  },
  {
    name: 'workload of an unknown service', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('service: cart', 'service: carts') },
    code: 'UNKNOWN_SERVICE', file: 'w.yaml', key: 'spec.service', value: '"carts"', expected: /Service in namespace "shop" \(defined there: cart\)/, line: 4,
  },
  {
    name: 'an empty attest mapping', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: {} }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.attest', value: '{}', expected: /at least one of uid or user, gid or group, executable, cgroup, systemdUnit \(leave attest out for address-only identification/,
  },
  {
    name: 'attest with both uid and user', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: { uid: 0, user: root } }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.attest.user', value: '"root"', expected: /either uid or user, not both/,
  },
  {
    name: 'attest with a relative executable', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: { executable: bin/node } }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.attest.executable', value: '"bin/node"', expected: /an absolute, normalized path of an executable/,
  },
  {
    name: 'attest with a glob inside a cgroup path', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: { cgroup: "/kubepods/*/x" } }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.attest.cgroup', value: '"/kubepods/*/x"', expected: /a prefix ending in "\*"/,
  },
  {
    name: 'attest with a negative uid', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: { uid: -1 } }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.attest.uid', value: '-1', expected: /a numeric id 0-4294967294/,
  },
  {
    name: 'attest with a misspelt key', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, attest: { executible: /usr/bin/node } }') },
    code: 'UNKNOWN_KEY', file: 'w.yaml', key: 'spec.attest.executible', value: '"/usr/bin/node"', expected: /executable/,
  },
  {
    name: 'a workload weight of 0', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, weight: 0 }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.weight', value: '0', expected: /an integer 1-1000/,
  },
  {
    name: 'a workload weight above 1000', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, weight: 1001 }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.weight', value: '1001', expected: /an integer 1-1000/,
  },
  {
    name: 'a fractional workload weight', files: { 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, weight: 2.5 }') },
    code: 'INVALID_FIELD', file: 'w.yaml', key: 'spec.weight', value: '2.5', expected: /an integer 1-1000/,
  },
  {
    name: 'two workloads with one address on one node', files: { 's.yaml': CART, 'w.yaml': `${CART_WORKLOAD}---\n${CART_WORKLOAD.replace('cart-1', 'cart-2')}` },
    code: 'DUPLICATE_ADDRESS', file: 'w.yaml', key: 'spec.address', value: '"10.0.0.7"', expected: /Workload shop\/cart-1 .* has it/,
  },
];

for (const c of errorCases) {
  test(`loadResourceDir error: ${c.name}`, async () => {
    const r = await load(c.files);
    assert.equal(r.errors.length, 1, r.errors.map((e) => e.message).join('\n'));
    const e = r.errors[0]!;
    assert.equal(e.code, c.code);
    assert.equal(e.file, join(r.dir, c.file));
    assert.equal(e.key, c.key);
    assert.equal(e.value, c.value);
    assert.match(e.expected, c.expected);
    if (c.line !== undefined) assert.equal(e.line, c.line);
    // The message is one line and names everything.
    assert.ok(!e.message.includes('\n'));
    for (const part of [e.file, e.key || '(document)', e.value, e.expected]) assert.ok(e.message.includes(part), `${part} missing in ${e.message}`);
  });
}

test('loadResourceDir: a missing directory is one READ_FAILED error', async () => {
  const r = await loadResourceDir(join(tmpdir(), `entente-policy-missing-${process.pid}-${Date.now()}`));
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.code, 'READ_FAILED');
  assert.deepEqual(r.resources, { services: [], workloads: [], authorizationPolicies: [], trafficPolicies: [], dataRoutes: [] });
});

test('loadResourceDir: every error of every file in one pass, in reading order', async () => {
  const r = await load({
    'a.yaml': `${CART}---\nkind: Foo\n---\n${CART_WORKLOAD.replace('10.0.0.7', '999.1.1.1')}`,
    'b.yaml': `${policyWith('    - from:\n        - principles: ["*"]\n      to:\n        - ports: [0]\n')}`,
    'c.yaml': 'kind: @Service\n',
    'd.yaml': CART_WORKLOAD.replace('cart-1', 'cart-9').replace('service: cart', 'service: nope').replace('10.0.0.7', '10.0.0.9'),
  });
  assert.deepEqual(
    r.errors.map((e) => `${e.file.slice(r.dir.length + 1)}#${e.document} ${e.code} ${e.key}`),
    [
      'a.yaml#1 UNKNOWN_KIND kind',
      'a.yaml#2 INVALID_FIELD spec.address',
      'b.yaml#0 UNKNOWN_KEY spec.rules[0].from[0].principles',
      'b.yaml#0 INVALID_FIELD spec.rules[0].to[0].ports[0]',
      'c.yaml#0 YAML_SYNTAX ',
      'd.yaml#0 UNKNOWN_SERVICE spec.service',
    ],
  );
  // What did validate is still returned, for lint and explain tools.
  assert.deepEqual(r.resources.services.map((s) => s.metadata.name), ['cart']);
});

const LEDGER = `${HEAD}
kind: Service
metadata: { name: ledger, namespace: shop }
spec:
  ports:
    - port: 80
      protocol: http
    - port: 9000
`;
const TCP_ONLY = `${HEAD}
kind: Service
metadata: { name: vault, namespace: shop }
spec: { ports: [{ port: 7000 }, { port: 7001, protocol: tcp }] }
`;
const GRPC_ONLY = `${HEAD}
kind: Service
metadata: { name: greeter, namespace: shop }
spec: { ports: [{ port: 50051, protocol: http2 }] }
`;
const policyOn = (name: string, spec: string) => `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: shop }\nspec:\n${spec}`;

// Finding 6 (issue 7): a DENY whose selector misspells its service was accepted and never applied.
test('the ledgr typo: a DENY selecting an undeclared Service refuses the whole set, naming file, line, key, value and the Services that exist', async () => {
  const r = await load({
    's.yaml': `${CART}---\n${LEDGER}`,
    'deny.yaml': policyOn('deny-batch', '  selector: { services: [ledgr] }\n  action: DENY\n  rules:\n    - from:\n        - namespaces: [batch]\n'),
  });
  assert.equal(r.errors.length, 1, r.errors.map((e) => e.message).join('\n'));
  const e = r.errors[0]!;
  assert.equal(e.code, 'UNKNOWN_SERVICE');
  assert.equal(e.file, join(r.dir, 'deny.yaml'));
  assert.equal(e.line, 5);
  assert.equal(e.key, 'spec.selector.services[0]');
  assert.equal(e.value, '"ledgr"');
  assert.equal(e.resource, 'AuthorizationPolicy shop/deny-batch');
  assert.match(e.expected, /Service in namespace "shop" \(defined there: cart, ledger\)/);
  assert.match(e.expected, /mesh-wide/);
});

test('a selector may name a Service this region runs no Workload of (Service names are mesh-wide)', async () => {
  const r = await load({ 's.yaml': `${CART}---\n${LEDGER}`, 'p.yaml': ALLOW_WEB.replace('services: [cart]', 'services: [cart, ledger]') });
  assert.deepEqual(r.errors, []);
  assert.equal(r.resources.workloads.length, 0);
  assert.equal(r.resources.authorizationPolicies.length, 1);
});

interface L7Case {
  readonly name: string;
  readonly spec: string;
  /** undefined: loads without errors. */
  readonly error?: { key: string; service: string; expected: RegExp };
}

// Finding 5 (issue 7): method/path rules on a Service without an HTTP port could never be checked.
const l7Cases: L7Case[] = [
  {
    name: 'a path rule on a tcp-only service',
    spec: '  selector: { services: [vault] }\n  rules:\n    - to:\n        - paths: ["/admin/*"]\n',
    error: { key: 'spec.rules[0].to[0].paths', service: 'Service shop/vault', expected: /protocol: http.*tcp ports 7000, 7001/ },
  },
  {
    name: 'a method rule in a DENY on a tcp-only service',
    spec: '  selector: { services: [cart, vault] }\n  action: DENY\n  rules:\n    - to:\n        - methods: [DELETE]\n',
    error: { key: 'spec.rules[0].to[0].methods', service: 'Service shop/vault', expected: /protocol: http/ },
  },
  {
    name: 'a path rule naming only the tcp port of a mixed service',
    spec: '  selector: { services: [ledger] }\n  rules:\n    - to:\n        - ports: [9000]\n          notPaths: ["/x"]\n',
    error: { key: 'spec.rules[0].to[0].notPaths', service: 'Service shop/ledger', expected: /tcp ports 9000/ },
  },
  {
    name: 'a namespace-wide path rule while the namespace has a tcp-only service',
    spec: '  rules:\n    - to:\n        - paths: ["/x"]\n',
    error: { key: 'spec.rules[0].to[0].paths', service: 'Service shop/vault', expected: /spec\.selector\.services/ },
  },
  { name: 'a path rule on the http port of a mixed service', spec: '  selector: { services: [ledger] }\n  rules:\n    - to:\n        - ports: [80]\n          paths: ["/x"]\n' },
  { name: 'a path rule on a mixed service, no ports named', spec: '  selector: { services: [ledger, cart] }\n  rules:\n    - to:\n        - methods: [GET]\n' },
  { name: 'a gRPC method rule on an http2-only service', spec: '  selector: { services: [greeter] }\n  rules:\n    - to:\n        - methods: [POST]\n          paths: ["/helloworld.Greeter/SayHello"]\n' },
  { name: 'a port-only rule on a tcp-only service', spec: '  selector: { services: [vault] }\n  rules:\n    - to:\n        - ports: [7000]\n' },
  { name: 'a path rule naming a port the tcp service does not have', spec: '  selector: { services: [vault, ledger] }\n  rules:\n    - to:\n        - ports: [80]\n          paths: ["/x"]\n' },
];

for (const c of l7Cases) {
  test(`method/path rules need an http port: ${c.name}`, async () => {
    const r = await load({ 's.yaml': `${CART}---\n${LEDGER}---\n${TCP_ONLY}---\n${GRPC_ONLY}`, 'p.yaml': policyOn('p', c.spec) });
    if (!c.error) return assert.deepEqual(r.errors.map((e) => e.message), []);
    assert.equal(r.errors.length, 1, r.errors.map((e) => e.message).join('\n'));
    const e = r.errors[0]!;
    assert.equal(e.code, 'L7_RULE_WITHOUT_HTTP_PORT');
    assert.equal(e.key, c.error.key);
    assert.equal(e.resource, 'AuthorizationPolicy shop/p');
    assert.ok(e.expected.includes(c.error.service), e.expected);
    assert.match(e.expected, c.error.expected);
    assert.equal(r.resources.authorizationPolicies.length, 1, 'the set is returned for lint tools, but has errors: never enforced');
  });
}

test('digestResources: independent of key order, file layout and spelled-out defaults; changes on a real change', async () => {
  const a = await load({ 'all.yaml': `${CART}---\n${CART_WORKLOAD}---\n${ALLOW_WEB}` });
  const reordered = `spec:
  ports:
    - protocol: http
      targetPort: 8080
      port: 8080
  export: false
metadata: { namespace: shop, name: cart }
kind: Service
${HEAD}
`;
  const b = await load({ 'z/policy.yaml': ALLOW_WEB.replace('spec:', 'spec:\n  action: ALLOW'), 'a/cart.yaml': reordered, 'm/w.yml': CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, weight: 1 }') });
  assert.deepEqual([a.errors, b.errors], [[], []]);
  assert.equal(digestResources(a.resources), digestResources(b.resources));
  assert.match(digestResources(a.resources), /^[0-9a-f]{64}$/);
  const c = await load({ 'all.yaml': `${CART}---\n${CART_WORKLOAD}---\n${ALLOW_WEB.replace('methods: [GET]', 'methods: [GET, POST]')}` });
  assert.equal(c.errors.length, 0);
  assert.notEqual(digestResources(c.resources), digestResources(a.resources));
  const changed = [...digestEachResource(c.resources)].filter(([k, v]) => digestEachResource(a.resources).get(k) !== v).map(([k]) => k);
  assert.deepEqual(changed, ['AuthorizationPolicy shop/allow-web'], 'per-resource digests name what differs');
  const weighted = await load({ 'all.yaml': `${CART}---\n${CART_WORKLOAD.replace('address: 10.0.0.7 }', 'address: 10.0.0.7, weight: 2 }')}---\n${ALLOW_WEB}` });
  assert.notEqual(digestResources(weighted.resources), digestResources(a.resources), 'a weight other than the default is a change');
});

test('a Workload with attest selectors loads them as written (names are resolved by the agent of its node)', async () => {
  const attest = 'attest: { user: shop, group: shop, executable: /usr/local/bin/node, cgroup: "/system.slice/*", systemdUnit: shop-cart.service }';
  const r = await load({ 's.yaml': CART, 'w.yaml': CART_WORKLOAD.replace('address: 10.0.0.7 }', `address: 10.0.0.7, ${attest} }`) });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.resources.workloads[0]!.spec.attest, { user: 'shop', group: 'shop', executable: '/usr/local/bin/node', cgroup: '/system.slice/*', systemdUnit: 'shop-cart.service' });
});
