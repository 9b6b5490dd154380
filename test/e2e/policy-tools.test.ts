// The built CLI on the fixtures of test/fixtures/policy-tools/: entente policy
// lint (clean, dangling references, shadowed rules, --strict, -o json),
// policy test (a failing case, a malformed cases file), policy explain, and entente validate (a typo
// key, a YAML syntax error): exit codes, and the file, line and key named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runCli } from './lab-harness.js';

const F = fileURLToPath(new URL('../../../test/fixtures/policy-tools', import.meta.url));
const GUARD_MS = 60_000;
const cli = (...args: string[]) => runCli(args, GUARD_MS);
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

test('policy lint: clean, dangling references, shadowed rules', { timeout: 120_000 }, async () => {
  const clean = await cli('policy', 'lint', `${F}/valid`);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.deepEqual(lines(clean.stdout), [`${F}/valid: 0 errors, 0 warnings`]);

  const dangling = await cli('policy', 'lint', `${F}/dangling`);
  assert.equal(dangling.code, 1, dangling.stdout + dangling.stderr);
  const [service, namespace, summary] = lines(dangling.stdout);
  assert.ok(service!.startsWith(`${F}/dangling/policies.yaml:6: error: document 0 (AuthorizationPolicy shop/allow-web): spec.selector.services[0]: got "cartt"`), service);
  assert.ok(service!.endsWith('[UNKNOWN_SERVICE]'), service);
  assert.ok(namespace!.startsWith(`${F}/dangling/policies.yaml:9: error: document 0 (AuthorizationPolicy shop/allow-web): spec.rules[0].from[0].namespaces[0]: the namespace "wbe" has no Service`), namespace);
  assert.match(namespace!, /did you mean "web"\? \[UNKNOWN_NAMESPACE\]$/);
  assert.equal(summary, `${F}/dangling: 2 errors, 0 warnings`);

  const shadowed = await cli('policy', 'lint', `${F}/shadowed`);
  assert.equal(shadowed.code, 0, 'warnings alone do not fail');
  const warnings = lines(shadowed.stdout).filter((l) => l.includes(': warning: '));
  assert.deepEqual(warnings.map((w) => w.slice(F.length + 1).split(': never decides')[0]), [
    'shadowed/policies.yaml:18: warning: document 1 (AuthorizationPolicy shop/web-to-cart): spec.rules[0]',
    'shadowed/policies.yaml:25: warning: document 1 (AuthorizationPolicy shop/web-to-cart): spec.rules[2]',
  ]);
  assert.match(warnings[0]!, /DENY policy shop\/eu-only rules\[0\] \(.*shadowed\/policies\.yaml:8\) is checked first/);
  assert.match(warnings[1]!, /rules\[1\] of this policy is checked first/);

  const strict = await cli('policy', 'lint', '--strict', '-o', 'json', `${F}/shadowed`);
  assert.equal(strict.code, 1, '--strict fails on warnings');
  const report = JSON.parse(strict.stdout) as { ok: boolean; warnings: number; findings: { category: string; line: number; key: string }[] };
  assert.deepEqual([report.ok, report.warnings, report.findings.map((f) => [f.category, f.line, f.key])], [false, 2, [['shadowed', 18, 'spec.rules[0]'], ['shadowed', 25, 'spec.rules[2]']]]);

  assert.equal((await cli('policy', 'lint', `${F}/no-such-dir`)).code, 2, 'a missing directory is a usage error');
  assert.equal((await cli('policy', 'lint', '-o', 'xml', `${F}/valid`)).code, 2, 'a bad -o is a usage error');
});

test('policy test and policy explain over the valid set', { timeout: 120_000 }, async () => {
  const r = await cli('policy', 'test', `${F}/valid`, `${F}/cases.yaml`);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const out = lines(r.stdout);
  assert.deepEqual(out.map((l) => l.split(':')[0]), ['pass  frontend reads the cart API', 'pass  the cart pays', 'pass  the frontend may not delete', 'FAIL  a US frontend opens the cart\'s admin pages', '4 cases']);
  assert.match(out[3]!, /expected allow, got deny by shop\/admin-eu-only#0 \(spiffe:\/\/us\.example\.org\/ns\/web\/sa\/frontend -> shop\/cart:8080 GET \/admin; .*cases\.yaml:20\)$/);
  assert.equal(out[4], '4 cases: 3 passed, 1 failed');

  const bad = await cli('policy', 'test', `${F}/valid`, `${F}/bad-cases.yaml`);
  assert.equal(bad.code, 2, 'a malformed CASES.yaml is a usage error');
  assert.deepEqual(lines(bad.stderr).slice(1).map((l) => l.replace(F, 'F')), [
    '  F/bad-cases.yaml:3: [0].expect: got "alow"; expected one of "allow", "deny"',
    '  F/bad-cases.yaml:4: [0].porrt: unknown key "porrt" (did you mean "port"?)',
  ]);

  const e = await cli('policy', 'explain', '--from', 'spiffe://eu.example.org/ns/web/sa/frontend', '--to', 'shop/cart', '--method', 'DELETE', '--path', '/api/items', `${F}/valid`);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(lines(e.stdout).map((l) => l.replace(F, 'F')), [
    'deny  spiffe://eu.example.org/ns/web/sa/frontend -> shop/cart:8080 DELETE /api/items',
    'assumed: port 8080 (the Service\'s only port)',
    'decided by: default deny: no policy allows it',
    'closest allowing rule: ALLOW shop/frontend-to-cart#0 (F/valid/policies.yaml:9); not met:',
    '  to[0].methods: DELETE is not one of "GET", "POST"',
  ]);
  const usage = await cli('policy', 'explain', '--from', 'spiffe://eu.example.org/ns/web/sa/frontend', '--to', 'shop/carts', `${F}/valid`);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--to: no Service "shop\/carts" in the directory/);
});

test('validate: a typo key and a YAML syntax error, each with file, line and key', { timeout: 120_000 }, async () => {
  const typo = await cli('validate', `${F}/config-typo/agent.yaml`);
  assert.equal(typo.code, 1, typo.stdout + typo.stderr);
  assert.ok(typo.stdout.includes(`  ${F}/config-typo/agent.yaml:7: listen.metrcs: unknown key "metrcs" (did you mean "metrics"?)\n`), typo.stdout);

  const syntax = await cli('validate', `${F}/config-syntax/region.yaml`);
  assert.equal(syntax.code, 1, syntax.stdout + syntax.stderr);
  const out = lines(syntax.stdout);
  assert.equal(out[0], `FAIL  ${F}/config-syntax/region.yaml (controller region.yaml): 1 problem`);
  assert.match(out[1]!, new RegExp(`^  ${F.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/config-syntax/region\\.yaml:8:1: not valid YAML: flow sequence`));
  assert.deepEqual(out.slice(2, 5), ['    7 |   peers: [127.0.0.1:15002', '    8 | ', '      | ^']);

  // The same file refused by the component itself, in the same words.
  const controller = await cli('controller', '--config', `${F}/config-syntax/region.yaml`);
  assert.equal(controller.code, 1);
  assert.ok(controller.stderr.includes(`${F}/config-syntax/region.yaml:8:1: not valid YAML: flow sequence`), controller.stderr);

  const valid = await cli('validate', `${F}/valid`);
  assert.equal(valid.code, 0, valid.stdout);
  assert.equal(lines(valid.stdout).at(-1), '3 files: 3 valid, 0 with problems');
  assert.equal((await cli('validate', `${F}/missing.yaml`)).code, 2);
});
