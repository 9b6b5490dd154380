// Properties of the resource parser (fast-check, time-boxed): any text is
// handled without throwing and with well-formed errors; valid resources
// round-trip through YAML in any key order; an injected unknown key is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { assembleResources, parseResourceText } from './load-resources.js';
import { RESOURCE_SCHEMAS, isResourceKind } from './resources.js';
import { digestResources } from './resource-set.js';

const RUN = { numRuns: 300, interruptAfterTimeLimit: 6000 };
const FILE = 'policies/x.yaml';

const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 });
const some = <T>(arb: fc.Arbitrary<T>) => fc.uniqueArray(arb, { minLength: 1, maxLength: 3 });

const meta = fc.record({ name: label, namespace: label, labels: fc.dictionary(label, label, { maxKeys: 2 }) }, { requiredKeys: ['name'] });

const service = fc.record({
  kind: fc.constant('Service'),
  metadata: meta,
  spec: fc.record(
    {
      ports: fc
        .uniqueArray(fc.record({ port, protocol: fc.constantFrom('http', 'tcp'), targetPort: port }, { requiredKeys: ['port'] }), { minLength: 1, maxLength: 3, selector: (p) => p.port })
        // Target ports are unique too (an omitted one is the port).
        .filter((ps) => new Set(ps.map((p) => p.targetPort ?? p.port)).size === ps.length),
      export: fc.boolean(),
    },
    { requiredKeys: ['ports'] },
  ),
});

const workload = fc.record({
  kind: fc.constant('Workload'),
  metadata: meta,
  spec: fc.record(
    { service: label, serviceAccount: label, node: label, address: fc.oneof(fc.ipV4(), fc.ipV6()), zone: label },
    { requiredKeys: ['service', 'serviceAccount', 'node', 'address'] },
  ),
});

const principal = fc.oneof(
  fc.constant('*'),
  label.map((ns) => `spiffe://eu.lab/ns/${ns}/sa/app`),
  label.map((ns) => `spiffe://eu.lab/ns/${ns}/*`),
  label.map((sa) => `*/sa/${sa}`),
);
const path = fc.oneof(fc.constant('*'), label.map((s) => `/${s}`), label.map((s) => `/${s}/*`), label.map((s) => `*.${s}`));
const policy = fc.record({
  kind: fc.constant('AuthorizationPolicy'),
  metadata: meta,
  spec: fc.record(
    {
      selector: fc.record({ services: some(label) }),
      action: fc.constantFrom('ALLOW', 'DENY'),
      rules: fc.array(
        fc.record(
          {
            from: fc.array(
              fc.record(
                { principals: some(principal), notPrincipals: some(principal), namespaces: some(label), notNamespaces: some(label), trustDomains: some(fc.constantFrom('eu.lab', 'us.lab')), regions: some(label) },
                { requiredKeys: [] },
              ),
              { minLength: 1, maxLength: 2 },
            ),
            to: fc.array(
              fc.record({ ports: some(port), methods: some(fc.constantFrom('GET', 'POST', 'PUT')), paths: some(path), notPaths: some(path) }, { requiredKeys: [] }),
              { minLength: 1, maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  ),
});

const resource = fc.oneof(service, workload, policy).map((r) => ({ apiVersion: 'entente.dev/v1alpha1', ...r }));

/** Rebuilds every object with its keys in a seed-determined order. */
function shuffleKeys(v: unknown, seed: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => shuffleKeys(x, seed + i));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  let s = seed >>> 0;
  for (let i = entries.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, x], i) => [k, shuffleKeys(x, seed * 31 + i)]));
}

test('parseResourceText: any text or JSON value is handled without throwing; errors are well-formed', () => {
  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)),
    fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }).map((docs) => docs.map((d) => stringify(d)).join('---\n')),
    resource.map((r) => stringify(r).replace(/: /, ':: ')),
  );
  fc.assert(
    fc.property(text, (t) => {
      const parsed = parseResourceText(FILE, t);
      for (const e of parsed.errors) {
        assert.equal(e.file, FILE);
        assert.ok(Number.isInteger(e.document) && e.document >= 0);
        assert.ok(e.line === undefined || e.line >= 1);
        assert.ok(!e.message.includes('\n'), e.message);
        assert.ok(e.message.startsWith(FILE), e.message);
        assert.ok(e.value.length <= 80);
      }
    }),
    RUN,
  );
});

test('parseResourceText: valid resources round-trip in any key order, with the same digest', () => {
  fc.assert(
    fc.property(resource, fc.integer(), (r, seed) => {
      const a = parseResourceText(FILE, stringify(r));
      const b = parseResourceText(FILE, stringify(shuffleKeys(r, seed)));
      assert.deepEqual([a.errors, b.errors], [[], []]);
      assert.ok(isResourceKind(r.kind));
      assert.deepEqual(a.resources[0]!.resource, RESOURCE_SCHEMAS[r.kind].parse(r));
      // Cross-resource checks aside (a lone Workload names a missing Service), digests agree.
      const da = digestResources(assembleResources([a]).resources);
      const db = digestResources(assembleResources([b]).resources);
      assert.equal(da, db);
    }),
    RUN,
  );
});

test('parseResourceText: an unknown key injected anywhere is reported at that key', () => {
  fc.assert(
    fc.property(resource, fc.nat(), (r, pick) => {
      // Every object inside spec, and spec itself, is a strict mapping.
      const objects: { obj: Record<string, unknown>; key: string }[] = [];
      const walk = (v: unknown, key: string) => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${key}[${i}]`));
        else if (v !== null && typeof v === 'object') {
          objects.push({ obj: v as Record<string, unknown>, key });
          for (const [k, x] of Object.entries(v)) if (k !== 'labels') walk(x, `${key}.${k}`);
        }
      };
      const copy = structuredClone(r) as { spec: unknown };
      walk(copy.spec, 'spec');
      const target = objects[pick % objects.length]!;
      target.obj.principles = ['*'];
      const parsed = parseResourceText(FILE, stringify(copy));
      const unknown = parsed.errors.filter((e) => e.code === 'UNKNOWN_KEY');
      assert.deepEqual(unknown.map((e) => e.key), [`${target.key}.principles`]);
    }),
    RUN,
  );
});
