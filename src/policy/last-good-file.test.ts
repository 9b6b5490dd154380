// The saved last good set: a round trip keeps the set and its digest; a file
// that is torn, altered, from another format or no longer valid is refused whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { LastGoodFile, parseSaved } from './last-good-file.js';
import { assembleResources, parseResourceText } from './load-resources.js';
import { canonicalJson, digestResources } from './resource-set.js';

const TEXT = `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: ledger, namespace: shop }
spec: { ports: [{ port: 80, protocol: http, targetPort: 8080 }] }
---
apiVersion: entente.dev/v1alpha1
kind: Workload
metadata: { name: ledger-1, namespace: shop }
spec: { service: ledger, serviceAccount: ledger, node: n1, address: "fd00:0::7" }
---
apiVersion: entente.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: deny-batch, namespace: shop }
spec: { selector: { services: [ledger] }, action: DENY, rules: [{ from: [{ namespaces: [batch] }] }] }
`;

const loaded = assembleResources([parseResourceText('t.yaml', TEXT)]);
const saved = { resources: loaded.resources, digest: digestResources(loaded.resources), generation: 7, loadedAt: Date.parse('2030-01-02T03:04:05.000Z') };

test('LastGoodFile: a round trip restores the set, its digest and generation; the file is 0600', async () => {
  assert.deepEqual(loaded.errors, []);
  const dir = await mkdtemp(join(tmpdir(), 'entente-last-good-'));
  try {
    const file = new LastGoodFile(join(dir, 'sub', 'last-good.json'));
    assert.deepEqual(file.read(), { kind: 'none' });
    file.write(saved);
    assert.equal((await stat(file.location)).mode & 0o777, 0o600);
    assert.deepEqual(file.read(), { kind: 'ok', saved });
    await writeFile(file.location, '{"format": 1, "generation"');
    const torn = file.read();
    assert.equal(torn.kind, 'invalid');
    assert.match(torn.kind === 'invalid' ? torn.reason : '', /not JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const good = (): Record<string, unknown> => JSON.parse(JSON.stringify({ format: 1, generation: 7, digest: saved.digest, loadedAt: '2030-01-02T03:04:05.000Z', resources: saved.resources })) as Record<string, unknown>;
const cases: { name: string; edit: (d: Record<string, unknown>) => unknown; reason: RegExp }[] = [
  { name: 'not an object', edit: () => null, reason: /not a JSON object/ },
  { name: 'another format', edit: (d) => ({ ...d, format: 2 }), reason: /format 2, expected 1/ },
  { name: 'generation 0', edit: (d) => ({ ...d, generation: 0 }), reason: /generation/ },
  { name: 'a list missing', edit: (d) => ({ ...d, resources: { services: [] } }), reason: /services, workloads, authorizationPolicies, trafficPolicies/ },
  {
    name: 'content altered (DENY turned into ALLOW)',
    edit: (d) => {
      ((d.resources as { authorizationPolicies: { spec: { action: string } }[] }).authorizationPolicies[0]!.spec.action = 'ALLOW');
      return d;
    },
    reason: /does not match its digest/,
  },
  {
    name: 'a resource that no longer validates',
    edit: (d) => {
      ((d.resources as { services: { spec: Record<string, unknown> }[] }).services[0]!.spec.extra = true);
      return d;
    },
    reason: /Service shop\/ledger no longer validates/,
  },
];
for (const c of cases) {
  test(`parseSaved refuses: ${c.name}`, () => {
    const r = parseSaved(c.edit(good()));
    assert.equal(r.kind, 'invalid');
    assert.match(r.kind === 'invalid' ? r.reason : '', c.reason);
  });
}

test('parseSaved: a file written before TrafficPolicy and DataRoute existed (neither list, digest of the three lists) is restored', () => {
  const { trafficPolicies: _t, dataRoutes: _d, ...older } = saved.resources;
  const oldDigest = createHash('sha256').update(canonicalJson({ apiVersion: 'entente.dev/v1alpha1', ...older })).digest('hex');
  assert.equal(oldDigest, saved.digest, 'a set without TrafficPolicies keeps its digest');
  const r = parseSaved({ ...good(), resources: JSON.parse(JSON.stringify(older)) as unknown });
  assert.equal(r.kind, 'ok', r.kind === 'invalid' ? r.reason : '');
});

test('LastGoodFile: TrafficPolicies and Workload weights survive a round trip, and count in the digest', () => {
  const text = `${TEXT.replace('address: "fd00:0::7" }', 'address: "fd00:0::7", weight: 4 }')}---
apiVersion: entente.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: ledger, namespace: shop }
spec: { service: ledger, retries: { attempts: 1 } }
`;
  const l = assembleResources([parseResourceText('t.yaml', text)]);
  assert.deepEqual(l.errors, []);
  const s = { ...saved, resources: l.resources, digest: digestResources(l.resources) };
  const doc = JSON.parse(JSON.stringify({ format: 1, generation: 7, digest: s.digest, loadedAt: '2030-01-02T03:04:05.000Z', resources: s.resources })) as { resources: { trafficPolicies: { spec: { retries: { attempts: number } } }[] } };
  assert.deepEqual(parseSaved(doc), { kind: 'ok', saved: s });
  assert.equal(l.resources.workloads[0]!.spec.weight, 4);
  doc.resources.trafficPolicies[0]!.spec.retries.attempts = 5;
  const altered = parseSaved(doc);
  assert.match(altered.kind === 'invalid' ? altered.reason : '', /does not match its digest/);
});
