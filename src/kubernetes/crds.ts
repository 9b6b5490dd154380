// Entente's resource kinds as Kubernetes CustomResourceDefinitions, generated
// from the zod schemas the controller validates resources with, so the two
// cannot drift: scripts/gen-schemas.mjs writes deploy/kubernetes/base/crds.yaml
// from this, and crds.test.ts keeps the committed file equal to it.
//
// Kubernetes wants a *structural* schema (every node typed, no unions of
// types, no `additionalProperties` beside `properties`), in OpenAPI v3.0
// terms. What it cannot say is left to the controller, which checks every
// resource with the full schema when it loads it, as it does for files:
// - unions (a uid as a number or a name) become the loosest branch that
//   Kubernetes accepts (int-or-string, or any value);
// - defaults are not copied: the stored object stays as the user wrote it,
//   and the controller fills the defaults in, as for a file;
// - map key patterns (labels) and removed keys (`not: {}`) are dropped.
import * as z from 'zod';
import { stringify } from 'yaml';
import { RESOURCE_SCHEMAS, type ResourceKind } from '../policy/resources.js';

export const CRD_GROUP = 'entente.dev';
export const CRD_VERSION = 'v1alpha1';

type Json = Record<string, unknown>;

/** Plural, and short names that do not collide with Kubernetes' own (services, svc) or Istio's. */
export const CRD_NAMES: Record<ResourceKind, { plural: string; shortNames: string[] }> = {
  Service: { plural: 'services', shortNames: ['esvc'] },
  Workload: { plural: 'workloads', shortNames: ['ewl'] },
  AuthorizationPolicy: { plural: 'authorizationpolicies', shortNames: ['eap'] },
  TrafficPolicy: { plural: 'trafficpolicies', shortNames: ['etp'] },
  DataRoute: { plural: 'dataroutes', shortNames: ['edr'] },
};

/** Keywords copied as they are: the same meaning in JSON Schema draft-7 and Kubernetes' OpenAPI v3.0 subset. */
const COPIED = ['description', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'format'] as const;

const isNever = (n: Json): boolean => typeof n.not === 'object' && n.not !== null && Object.keys(n.not).length === 0;

/** A union Kubernetes can hold: the branches' common type when there is one, int-or-string, or any value. */
function union(branches: Json[]): Json {
  const kept = branches.filter((b) => !isNever(b)).map(structural).filter((b): b is Json => b !== undefined);
  const types = new Set(kept.map((b) => b.type));
  if (types.size === 1 && !types.has(undefined)) {
    const type = [...types][0];
    if (type !== 'object' && type !== 'array') {
      const enums = kept.every((b) => Array.isArray(b.enum)) ? kept.flatMap((b) => b.enum as unknown[]) : undefined;
      return { type, ...(enums ? { enum: enums } : {}) };
    }
  }
  if ([...types].every((t) => t === 'string' || t === 'integer')) return { 'x-kubernetes-int-or-string': true };
  return { 'x-kubernetes-preserve-unknown-fields': true };
}

/** One JSON Schema node as a structural schema node; undefined for a node that admits nothing (a removed key). */
export function structural(node: unknown): Json | undefined {
  if (typeof node !== 'object' || node === null) return { 'x-kubernetes-preserve-unknown-fields': true };
  const n = node as Json;
  if (isNever(n)) return undefined;
  const alternatives = (n.oneOf ?? n.anyOf) as Json[] | undefined;
  if (alternatives) return union(alternatives);
  const out: Json = {};
  let type = n.type;
  if (Array.isArray(type)) {
    // ["string", "null"]: nullable; more than one real type is a union.
    const real = type.filter((t) => t !== 'null');
    if (real.length !== 1) return union(real.map((t) => ({ type: t })));
    if (real.length < type.length) out.nullable = true;
    type = real[0];
  }
  if (n.const !== undefined) {
    out.enum = [n.const];
    type ??= typeof n.const === 'number' ? (Number.isInteger(n.const) ? 'integer' : 'number') : typeof n.const;
  }
  if (typeof type === 'string') out.type = type;
  else if (!n.properties && !n.items) return { ...out, 'x-kubernetes-preserve-unknown-fields': true };
  for (const k of COPIED) if (n[k] !== undefined && out[k] === undefined) out[k] = n[k];
  if (typeof n.exclusiveMinimum === 'number') Object.assign(out, { minimum: n.exclusiveMinimum, exclusiveMinimum: true });
  if (typeof n.exclusiveMaximum === 'number') Object.assign(out, { maximum: n.exclusiveMaximum, exclusiveMaximum: true });
  if (n.properties && typeof n.properties === 'object') {
    out.type = 'object';
    const props: Json = {};
    for (const [key, value] of Object.entries(n.properties as Json)) {
      const s = structural(value);
      if (s) props[key] = s;
    }
    out.properties = props;
    const required = Array.isArray(n.required) ? (n.required as string[]).filter((r) => r in props) : [];
    if (required.length > 0) out.required = required;
  } else if (typeof n.additionalProperties === 'object' && n.additionalProperties !== null) {
    // A map (labels): its values' schema; its key pattern is the controller's to check.
    out.additionalProperties = structural(n.additionalProperties) ?? { 'x-kubernetes-preserve-unknown-fields': true };
  } else if (out.type === 'object') {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (n.items !== undefined) out.items = structural(n.items) ?? { 'x-kubernetes-preserve-unknown-fields': true };
  return out;
}

function specSchema(kind: ResourceKind): Json {
  const json = z.toJSONSchema(RESOURCE_SCHEMAS[kind], { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Json;
  const spec = (json.properties as Json | undefined)?.spec;
  const s = structural(spec);
  if (!s) throw new Error(`${kind} has no spec schema`);
  return s;
}

export function crdFor(kind: ResourceKind): Json {
  const { plural, shortNames } = CRD_NAMES[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${CRD_GROUP}`, labels: { 'app.kubernetes.io/part-of': 'entente' } },
    spec: {
      group: CRD_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames, categories: ['entente'] },
      scope: 'Namespaced',
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `Entente ${kind} (docs/policy.md). The controller validates it in full when it loads it.`,
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: specSchema(kind) },
            },
          },
        },
      ],
    },
  };
}

/** deploy/kubernetes/base/crds.yaml: every kind the loader takes, from its own table. */
export function generateCrdsYaml(): string {
  const docs = (Object.keys(RESOURCE_SCHEMAS) as ResourceKind[]).map((k) => stringify(crdFor(k), { lineWidth: 0 }));
  return `# Generated by \`npm run schemas\` from the resource schemas (src/kubernetes/crds.ts): do not edit.\n${docs.map((d) => `---\n${d}`).join('')}`;
}
