// lintResources over in-memory directories (the loader's own assembly): the
// loader's errors as invalid or dangling, caller namespaces no Service
// defines, service accounts no Workload runs as, shadowed rules; counts and order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from '../load-resources.js';
import { lintResources } from './lint.js';
import { principalNames } from './dangling-references.js';
import { formatFinding } from './finding.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const SERVICES = `${HEAD}
kind: Service
metadata: { name: cart, namespace: shop }
spec:
  ports: [{ port: 8080, protocol: http }]
---
${HEAD}
kind: Service
metadata: { name: frontend, namespace: web }
spec:
  ports: [{ port: 80, protocol: http }]
`;
const FRONTEND = `${HEAD}
kind: Workload
metadata: { name: frontend-1, namespace: web }
spec: { service: frontend, serviceAccount: frontend, node: n1, address: 10.0.0.2 }
`;

const lint = (files: Record<string, string>) => lintResources(assembleResources(Object.entries(files).map(([f, t]) => parseResourceText(f, t))));
const policy = (name: string, spec: string) => `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: shop }\nspec:\n${spec}`;

describe('lintResources', () => {
  it('a clean set has no findings', () => {
    const r = lint({ 's.yaml': SERVICES, 'w.yaml': FRONTEND, 'p.yaml': policy('allow', '  rules:\n    - from:\n        - principals: ["spiffe://eu.lab/ns/web/sa/frontend"]\n') });
    assert.deepEqual(r, { findings: [], errors: 0, warnings: 0 });
  });

  it('reports the loader\'s errors: an unknown Service as dangling, the rest as invalid', () => {
    const r = lint({
      's.yaml': SERVICES,
      'p.yaml': `${policy('allow', '  selector: { services: [cartt] }\n')}---\n${policy('typo', '  rules:\n    - from:\n        - principles: ["*"]\n')}`,
    });
    assert.deepEqual(r.findings.map((f) => [f.category, f.code, f.document, f.key, f.line]), [
      ['dangling', 'UNKNOWN_SERVICE', 0, 'spec.selector.services[0]', 5],
      ['invalid', 'UNKNOWN_KEY', 1, 'spec.rules[0].from[0].principles', 13],
    ]);
    assert.equal(r.errors, 2);
  });

  it('a caller namespace without a Service is an error, in namespaces and in principals', () => {
    const r = lint({
      's.yaml': SERVICES,
      'p.yaml': policy('allow', '  rules:\n    - from:\n        - namespaces: [wbe]\n        - principals: ["spiffe://eu.lab/ns/wbe/*", "*/ns/web/sa/frontend"]\n'),
    });
    assert.deepEqual(r.findings.map((f) => [f.severity, f.code, f.key]), [
      ['error', 'UNKNOWN_NAMESPACE', 'spec.rules[0].from[0].namespaces[0]'],
      ['error', 'UNKNOWN_NAMESPACE', 'spec.rules[0].from[1].principals[0]'],
    ]);
    assert.match(r.findings[0]!.message, /^p\.yaml:7: document 0 \(AuthorizationPolicy shop\/allow\): spec\.rules\[0\]\.from\[0\]\.namespaces\[0\]: the namespace "wbe" has no Service in this directory.*did you mean "web"\?$/);
  });

  it('a service account no Workload runs as is a warning, and only when the directory has Workloads', () => {
    const files = { 's.yaml': SERVICES, 'p.yaml': policy('allow', '  rules:\n    - from:\n        - principals: ["spiffe://eu.lab/ns/web/sa/frontnd"]\n') };
    assert.deepEqual(lint(files).findings, []);
    const r = lint({ ...files, 'w.yaml': FRONTEND });
    assert.deepEqual(r.findings.map((f) => [f.severity, f.code]), [['warning', 'UNKNOWN_SERVICE_ACCOUNT']]);
    assert.match(r.findings[0]!.message, /service account "frontnd" in namespace "web" \(there: frontend\); did you mean "frontend"\?/);
    assert.deepEqual([r.errors, r.warnings], [0, 1]);
  });

  it('a shadowed rule is a warning naming its shadower and where it is', () => {
    const deny = `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: eu-only, namespace: shop }\nspec:\n  action: DENY\n  rules:\n    - from:\n        - notPrincipals: ["spiffe://eu.lab/*"]\n`;
    const r = lint({ 's.yaml': SERVICES, 'd.yaml': deny, 'p.yaml': policy('allow', '  rules:\n    - from:\n        - principals: ["spiffe://us.lab/ns/web/*"]\n') });
    assert.equal(r.findings.length, 1);
    assert.equal(formatFinding(r.findings[0]!),
      'p.yaml:6: warning: document 0 (AuthorizationPolicy shop/allow): spec.rules[0]: never decides: DENY policy shop/eu-only rules[0] (d.yaml:7) is checked first and matches every request this rule matches; so this ALLOW rule never allows anything [SHADOWED_RULE]');
  });
});

describe('principalNames', () => {
  it('reads a namespace and a service account only where the pattern names them whole', () => {
    const table: [string, object][] = [
      ['spiffe://eu.lab/ns/web/sa/frontend', { namespace: 'web', serviceAccount: 'frontend' }],
      ['spiffe://eu.lab/ns/web/*', { namespace: 'web' }],
      ['spiffe://eu.lab/ns/we*', {}],
      ['*/ns/web/sa/frontend', { namespace: 'web', serviceAccount: 'frontend' }],
      ['*/sa/frontend', { serviceAccount: 'frontend' }],
      ['*frontend', {}],
      ['spiffe://eu.lab/edge/device-7', {}],
      ['*', {}],
    ];
    for (const [pattern, names] of table) assert.deepEqual(principalNames(pattern), names, pattern);
  });
});
