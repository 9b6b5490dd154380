// Reads a policy directory (a Git checkout) into a validated ResourceSet and
// reports every problem in one pass, each located to file, document, line and key.
import { checkDataRoutes } from './check-data-routes.js';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { describeError } from '../core/errors.js';
import { lineOfPath } from '../core/yaml-source.js';
import { RESOURCE_KINDS, RESOURCE_SCHEMAS, isResourceKind, resourceRef, type AuthorizationPolicy, type Resource, type ResourceKind, type Service, type TrafficPolicy } from './resources.js';
import { checkPolicyTargets, unknownServiceExpectation } from './check-policy-targets.js';
import { checkTrafficPolicies } from './check-traffic-policies.js';
import { defaultExpectation, issuesToErrors, makeResourceError, type PathSegment, type ResourceError } from './resource-error.js';
import { buildResourceSet, type ResourceSet } from './resource-set.js';

export interface LoadResult {
  /**
   * What validated. When `errors` is non-empty this is a partial set, fine for
   * lint and explain tools but never to enforce (ResourceStore does not).
   */
  readonly resources: ResourceSet;
  readonly errors: readonly ResourceError[];
}

/** What validated, with where each resource came from: for tools that point at a rule's file and line. */
export interface LocatedLoadResult extends LoadResult {
  /** Every resource of `resources` (duplicates dropped), in reading order. */
  readonly located: readonly LocatedResource[];
}

/** Where a document came from, so later checks can point at it. */
export interface Origin {
  readonly file: string;
  readonly document: number;
  readonly lineOf: (path: readonly PathSegment[]) => number | undefined;
}

export interface LocatedResource extends Origin {
  readonly resource: Resource;
}

/** Any document that names a (kind, namespace, name), valid or not: references to it are not reported twice. */
interface Declaration extends Origin {
  readonly kind: ResourceKind;
  readonly namespace: string;
  readonly name: string;
}

export interface ParsedFile {
  readonly resources: readonly LocatedResource[];
  readonly declarations: readonly Declaration[];
  readonly errors: readonly ResourceError[];
}

/** Pure: one file's text to resources and errors. Empty documents are skipped. */
export function parseResourceText(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  const resources: LocatedResource[] = [];
  const declarations: Declaration[] = [];
  const errors: ResourceError[] = [];
  const lines = text.split('\n');
  for (const [document, doc] of (Array.isArray(docs) ? docs : []).entries()) {
    const lineOf = (path: readonly PathSegment[]) => lineOfPath(doc, lineCounter, path);
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const line = err.linePos?.[0].line;
        const problem = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        errors.push(makeResourceError({
          code: 'YAML_SYNTAX', file, document, path: [], line, value: sourceNear(lines, line), expected: `valid YAML (${problem})`,
        }));
      }
      continue;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push(makeResourceError({ code: 'YAML_SYNTAX', file, document, path: [], line: lineOf([]), value: undefined, expected: `valid YAML (${describeError(err)})` }));
      continue;
    }
    if (raw === null || raw === undefined) continue;
    const origin = { file, document, lineOf };
    const parsed = parseResourceDocument(raw, origin);
    errors.push(...parsed.errors);
    if (parsed.declaration) declarations.push(parsed.declaration);
    if (parsed.resource) resources.push({ ...origin, resource: parsed.resource });
  }
  return { resources, declarations, errors };
}

function parseResourceDocument(raw: unknown, origin: Origin): { resource?: Resource; declaration?: Declaration; errors: ResourceError[] } {
  const { file, document } = origin;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: [makeResourceError({
      code: 'NOT_A_RESOURCE', file, document, path: [], line: origin.lineOf([]), value: raw,
      expected: 'a resource: a mapping with apiVersion, kind, metadata and spec',
    })] };
  }
  const doc = raw as Record<string, unknown>;
  const kind = doc.kind;
  if (!isResourceKind(kind)) {
    return { errors: [makeResourceError({
      code: 'UNKNOWN_KIND', file, document, path: ['kind'], line: origin.lineOf(['kind']), value: kind,
      expected: `one of ${RESOURCE_KINDS.join(', ')} (apiVersion entente.dev/v1alpha1)`,
    })] };
  }
  const meta = doc.metadata as Record<string, unknown> | undefined;
  const name = typeof meta?.name === 'string' ? meta.name : undefined;
  const namespace = typeof meta?.namespace === 'string' ? meta.namespace : 'default';
  const declaration = name === undefined ? undefined : { ...origin, kind, namespace, name };
  const ref = name === undefined ? undefined : resourceRef({ kind, metadata: { namespace, name } });
  const schema = RESOURCE_SCHEMAS[kind];
  const result = schema.safeParse(raw, { error: defaultExpectation });
  if (result.success) return { resource: result.data, ...(declaration ? { declaration } : {}), errors: [] };
  const errors = issuesToErrors(result.error.issues, {
    file, document, ...(ref === undefined ? {} : { resource: ref }), schema, raw, lineOf: origin.lineOf,
  });
  return { ...(declaration ? { declaration } : {}), errors };
}

/** The source line of a syntax error, or the closest non-blank one above it (errors at EOF point at a blank line). */
function sourceNear(lines: readonly string[], line: number | undefined): string | undefined {
  for (let i = (line ?? 0) - 1; i >= 0 && i < lines.length; i--) {
    const text = lines[i]!.trim();
    if (text !== '') return text;
  }
  return undefined;
}

/** Pure: cross-resource checks (duplicates, references, caller addresses, policy targets, traffic policies) and the sorted set. */
export function assembleResources(files: readonly ParsedFile[]): LocatedLoadResult {
  const errors: ResourceError[] = files.flatMap((f) => f.errors);
  const located = files.flatMap((f) => f.resources);
  const declarations = files.flatMap((f) => f.declarations);
  const at = (o: Origin, path: PathSegment[], r?: Resource) => ({
    file: o.file, document: o.document, path, line: o.lineOf(path), ...(r ? { resource: resourceRef(r) } : {}),
  });

  const first = new Map<string, Declaration>();
  const docKey = (o: Origin) => `${o.file}\0${o.document}`;
  const duplicates = new Set<string>();
  for (const d of declarations) {
    const id = `${d.kind}\0${d.namespace}\0${d.name}`;
    const seen = first.get(id);
    if (!seen) {
      first.set(id, d);
      continue;
    }
    duplicates.add(docKey(d));
    errors.push(makeResourceError({
      ...at(d, ['metadata', 'name']), code: 'DUPLICATE_RESOURCE', resource: `${d.kind} ${d.namespace}/${d.name}`, value: d.name,
      expected: `a name no other ${d.kind} in namespace "${d.namespace}" has (first defined in ${seen.file} document ${seen.document})`,
    }));
  }
  const unique = located.filter((l) => !duplicates.has(docKey(l)));

  const servicesByNs = new Map<string, string[]>();
  for (const d of declarations) {
    if (d.kind === 'Service' && !servicesByNs.get(d.namespace)?.includes(d.name)) {
      servicesByNs.set(d.namespace, [...(servicesByNs.get(d.namespace) ?? []), d.name]);
    }
  }
  const callers = new Map<string, LocatedResource>();
  const services = new Map<string, Service>();
  const policies: { policy: AuthorizationPolicy; origin: Origin }[] = [];
  const trafficPolicies: { policy: TrafficPolicy; origin: Origin }[] = [];
  for (const l of unique) {
    const r = l.resource;
    const ns = r.metadata.namespace;
    if (r.kind === 'Service') services.set(`${ns}/${r.metadata.name}`, r);
    if (r.kind === 'AuthorizationPolicy') policies.push({ policy: r, origin: l });
    if (r.kind === 'TrafficPolicy') trafficPolicies.push({ policy: r, origin: l });
    if (r.kind === 'Workload') {
      if (!servicesByNs.get(ns)?.includes(r.spec.service)) {
        errors.push(makeResourceError({ ...at(l, ['spec', 'service'], r), code: 'UNKNOWN_SERVICE', value: r.spec.service, expected: unknownServiceExpectation(servicesByNs, ns) }));
      }
      const addressKey = `${r.spec.node}\0${r.spec.address}`;
      const other = callers.get(addressKey);
      if (other) {
        errors.push(makeResourceError({
          ...at(l, ['spec', 'address'], r), code: 'DUPLICATE_ADDRESS', value: r.spec.address,
          expected: `an address no other Workload on node "${r.spec.node}" uses (${resourceRef(other.resource)} in ${other.file} has it; the agent identifies callers by address)`,
        }));
      } else {
        callers.set(addressKey, l);
      }
    }
  }
  errors.push(...checkPolicyTargets({ policies, declaredServices: servicesByNs, services }));
  errors.push(...checkTrafficPolicies({ policies: trafficPolicies, declaredServices: servicesByNs, services }));
  errors.push(...checkDataRoutes(unique, servicesByNs, services));
  return { resources: buildResourceSet(unique.map((l) => l.resource)), errors: errors.sort(byLocation), located: unique };
}

/** Reading order: file, document, line; ties keep the order they were found in (sort is stable). */
function byLocation(a: ResourceError, b: ResourceError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.document - b.document || (a.line ?? 0) - (b.line ?? 0);
}

/**
 * Every *.yaml / *.yml under `dir`, recursively, sorted by path. Names starting
 * with "." are skipped (.git, editor files, and the "..data" of a Kubernetes
 * ConfigMap mount, whose files are also visible through top-level symlinks).
 */
export async function listResourceFiles(dir: string): Promise<{ files: string[]; errors: ResourceError[] }> {
  const files: string[] = [];
  const errors: ResourceError[] = [];
  const visited = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      const real = await realpath(d);
      if (visited.has(real)) return; // a symlink loop
      visited.add(real);
      names = await readdir(d);
    } catch (err) {
      errors.push(readError(d, err, 'a readable directory'));
      return;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      const st = await stat(p).catch(() => undefined); // a dangling symlink is not a resource file
      if (st?.isDirectory()) await walk(p);
      else if (st?.isFile() && /\.ya?ml$/.test(name)) files.push(p);
    }
  };
  await walk(dir);
  return { files: files.sort(), errors };
}

function readError(file: string, err: unknown, expected: string): ResourceError {
  return makeResourceError({ code: 'READ_FAILED', file, document: 0, path: [], value: describeError(err), expected });
}

/** Every resource file of a directory, parsed (not yet checked against each other: assembleResources). */
export async function parseResourceDir(dir: string): Promise<ParsedFile[]> {
  const listed = await listResourceFiles(dir);
  const parsed: ParsedFile[] = [{ resources: [], declarations: [], errors: listed.errors }];
  for (const file of listed.files) {
    try {
      parsed.push(parseResourceText(file, await readFile(file, 'utf8')));
    } catch (err) {
      parsed.push({ resources: [], declarations: [], errors: [readError(file, err, 'a readable file')] });
    }
  }
  return parsed;
}

export async function loadResourceDir(dir: string): Promise<LocatedLoadResult> {
  return assembleResources(await parseResourceDir(dir));
}
