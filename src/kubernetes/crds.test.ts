// The CRDs: the committed deploy/kubernetes/base/crds.yaml is what the
// generator writes from the resource schemas now; every schema is structural
// (the rules the API server enforces, checked here since no API server can run
// on these machines); and the resources the lab loads, which the controller
// accepts, are accepted by the CRDs' schemas too, while a wrong type is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { crdFor, generateCrdsYaml, structural } from './crds.js';
import { RESOURCE_KINDS } from '../policy/resources.js';
import { buildTopology } from '../lab/lab-topology.js';
import { policiesYaml, regionResourcesYaml } from '../lab/lab-resources.js';

const FILE = fileURLToPath(new URL('../../../deploy/kubernetes/base/crds.yaml', import.meta.url));

type Json = Record<string, unknown>;

test('deploy/kubernetes/base/crds.yaml is the generated one', () => {
  assert.equal(readFileSync(FILE, 'utf8'), generateCrdsYaml(), 'crds.yaml is stale: run npm run schemas');
  const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJS() as Json);
  assert.deepEqual(docs.map((d) => (d.spec as { names: { kind: string } }).names.kind), RESOURCE_KINDS, 'one CRD per kind the loader takes');
});

/** The structural-schema rules of apiextensions.k8s.io/v1 that a generated schema could break. */
function structuralProblems(node: Json, path: string, out: string[]): void {
  for (const k of ['oneOf', 'anyOf', 'allOf', 'not', '$ref', 'definitions', '$defs', 'const', 'default', 'propertyNames', '$schema']) if (k in node) out.push(`${path}: ${k}`);
  const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (typeof node.type !== 'string' && !open) out.push(`${path}: no type`);
  if (node.properties && node.additionalProperties !== undefined) out.push(`${path}: properties and additionalProperties`);
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties: false`);
  if (typeof node.exclusiveMinimum === 'number' || typeof node.exclusiveMaximum === 'number') out.push(`${path}: numeric exclusive bound (OpenAPI v3.0 wants a boolean)`);
  for (const [k, v] of Object.entries((node.properties as Json | undefined) ?? {})) structuralProblems(v as Json, `${path}.${k}`, out);
  if (node.items) structuralProblems(node.items as Json, `${path}[]`, out);
  if (typeof node.additionalProperties === 'object') structuralProblems(node.additionalProperties as Json, `${path}{}`, out);
}

test('every CRD schema is structural', () => {
  for (const kind of RESOURCE_KINDS) {
    const schema = ((crdFor(kind).spec as Json).versions as Json[])[0]!.schema as { openAPIV3Schema: Json };
    const problems: string[] = [];
    structuralProblems(schema.openAPIV3Schema, kind, problems);
    assert.deepEqual(problems, [], kind);
  }
});

/** What the API server would check of a value against a structural schema (types, required, enum, bounds, pattern). */
function admits(schema: Json, v: unknown, path: string, out: string[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && schema.type === undefined) return;
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof v !== 'string' && !Number.isInteger(v)) out.push(`${path}: not int-or-string`);
    return;
  }
  const type = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
  const want = schema.type;
  if (!(type === want || (want === 'number' && type === 'integer') || (v === null && schema.nullable === true))) {
    out.push(`${path}: ${type}, want ${String(want)}`);
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(v)) out.push(`${path}: ${JSON.stringify(v)} not in enum`);
  if (typeof v === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(v)) out.push(`${path}: ${v} does not match ${schema.pattern}`);
  if (typeof v === 'number' && ((typeof schema.minimum === 'number' && v < schema.minimum) || (typeof schema.maximum === 'number' && v > schema.maximum))) out.push(`${path}: ${v} out of bounds`);
  if (Array.isArray(v)) v.forEach((x, i) => admits(schema.items as Json, x, `${path}[${i}]`, out));
  else if (type === 'object') {
    const o = v as Json;
    for (const r of (schema.required as string[] | undefined) ?? []) if (!(r in o)) out.push(`${path}.${r}: required`);
    const props = schema.properties as Json | undefined;
    for (const [k, x] of Object.entries(o)) {
      const s = props?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (s) admits(s as Json, x, `${path}.${k}`, out);
      else if (schema['x-kubernetes-preserve-unknown-fields'] !== true) out.push(`${path}.${k}: unknown field (pruned)`);
    }
  }
}

const specSchemaOf = (kind: (typeof RESOURCE_KINDS)[number]): Json =>
  ((((crdFor(kind).spec as Json).versions as Json[])[0]!.schema as { openAPIV3Schema: { properties: { spec: Json } } }).openAPIV3Schema.properties.spec);

test("the lab's resources, which the controller loads, pass the CRDs' schemas; a wrong type does not", () => {
  const topo = buildTopology({ regions: ['eu', 'us', 'ap'], ipPrefix: '127.65', rttMs: {}, jitterMs: 0, rate: 1 });
  const text = [policiesYaml(topo), ...['eu', 'us', 'ap'].map((r) => regionResourcesYaml(topo, r))].join('---\n');
  const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: (typeof RESOURCE_KINDS)[number]; spec: unknown });
  assert.ok(new Set(docs.map((d) => d.kind)).size >= 3, 'several kinds checked');
  for (const d of docs) {
    const problems: string[] = [];
    admits(specSchemaOf(d.kind), d.spec, `${d.kind}.spec`, problems);
    assert.deepEqual(problems, [], JSON.stringify(d.spec));
  }
  const problems: string[] = [];
  admits(specSchemaOf('Service'), { ports: [{ port: 'eighty' }] }, 'Service.spec', problems);
  assert.deepEqual(problems, ['Service.spec.ports[0].port: string, want integer']);
  const missing: string[] = [];
  admits(specSchemaOf('DataRoute'), { protocol: 'postgresql' }, 'DataRoute.spec', missing);
  assert.ok(missing.includes('DataRoute.spec.members: required'), missing.join('; '));
});

test('unions and removed keys become what Kubernetes can hold', () => {
  assert.deepEqual(structural({ oneOf: [{ type: 'integer' }, { type: 'string' }] }), { 'x-kubernetes-int-or-string': true });
  assert.deepEqual(structural({ oneOf: [{ type: 'string', enum: ['a'] }, { type: 'string', enum: ['b'] }] }), { type: 'string', enum: ['a', 'b'] });
  assert.deepEqual(structural({ type: 'object', properties: { gone: { not: {} }, kept: { type: 'string', default: 'x' } }, additionalProperties: false }), { type: 'object', properties: { kept: { type: 'string' } } });
  assert.deepEqual(structural({ const: 'v1' }), { enum: ['v1'], type: 'string' });
  assert.deepEqual(structural({ type: 'integer', exclusiveMinimum: 0 }), { type: 'integer', minimum: 0, exclusiveMinimum: true });
});
