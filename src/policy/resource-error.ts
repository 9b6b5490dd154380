// One problem found in a policy directory, located to file, document, line and
// key, with the bad value and what was expected, plus zod-issue translation.
import type * as z from 'zod';
import { closestName, objectKeysAt } from '../core/schema-keys.js';

export type ResourceErrorCode =
  | 'READ_FAILED' // the directory or a file could not be read
  | 'YAML_SYNTAX'
  | 'NOT_A_RESOURCE' // a document that is not a mapping
  | 'UNKNOWN_KIND'
  | 'UNKNOWN_KEY' // a key the schema does not have (usually a typo)
  | 'INVALID_FIELD'
  | 'DUPLICATE_RESOURCE' // same (kind, namespace, name) twice
  | 'UNKNOWN_SERVICE' // a Workload, selector or TrafficPolicy naming a Service that does not exist
  | 'DUPLICATE_ADDRESS' // two Workloads on one node with one address: callers would be ambiguous
  | 'L7_RULE_WITHOUT_HTTP_PORT' // methods/paths on a Service (or ports) without protocol: http: never checkable
  | 'UNKNOWN_PORT' // a TrafficPolicy listing a port its Service does not have
  | 'OVERLAPPING_TRAFFIC_POLICY' // two TrafficPolicies selecting one (service, port): which governs would be a guess
  | 'DATA_ROUTE_NAME_TAKEN' // a DataRoute's readWrite/readOnly name (HTTP: its own name) is a Service's, or another DataRoute's
  | 'DATA_ROUTE_PORT_NOT_HTTP' // an HTTP DataRoute's members.port is not declared protocol: http or http2
  | 'SOURCE_NOT_SYNCED'; // an extra source of resources (Kubernetes) has not listed everything yet: the set in force stays

export interface ResourceError {
  readonly code: ResourceErrorCode;
  readonly file: string;
  /** Index of the YAML document in the file, from 0. */
  readonly document: number;
  /** 1-based line of the key (or of the document when there is no key), when known. */
  readonly line?: number;
  /** "Service shop/cart" when the document names one. */
  readonly resource?: string;
  /** Dotted path, e.g. "spec.rules[0].to[0].ports[1]"; "" for the whole document. */
  readonly key: string;
  /** The bad value, JSON, truncated; "(missing)" for a required key that is absent. */
  readonly value: string;
  readonly expected: string;
  /** One line naming all of the above. */
  readonly message: string;
}

export type PathSegment = string | number;

const MAX_VALUE_CHARS = 80;

export function formatKey(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

export interface ResourceErrorInit {
  readonly code: ResourceErrorCode;
  readonly file: string;
  readonly document: number;
  readonly line?: number;
  readonly resource?: string;
  readonly path: readonly PathSegment[];
  readonly value: unknown;
  readonly expected: string;
}

export function makeResourceError(init: ResourceErrorInit): ResourceError {
  const key = formatKey(init.path);
  const value = formatValue(init.value);
  const expected = init.expected.replace(/\s*\n\s*/g, ' ');
  const where = `${init.file}${init.line === undefined ? '' : `:${init.line}`}`;
  const what = init.resource === undefined ? '' : ` (${init.resource})`;
  const message = `${where}: document ${init.document}${what}: ${key === '' ? '(document)' : key}: got ${value}, expected ${expected}`;
  return {
    code: init.code,
    file: init.file,
    document: init.document,
    ...(init.line === undefined ? {} : { line: init.line }),
    ...(init.resource === undefined ? {} : { resource: init.resource }),
    key,
    value,
    expected,
    message,
  };
}

/** The value at `path` inside a plain JS value, or undefined. */
export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<PathSegment, unknown>)[seg];
  }
  return v;
}

/** Fallback "expected" texts for zod issues our schemas do not word themselves. */
export function defaultExpectation(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': return `a value of type ${iss.expected}`;
    case 'invalid_value': return `one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small': return `at least ${String(iss.minimum)}${iss.origin === 'array' ? ' items' : ''}`;
    case 'too_big': return `at most ${String(iss.maximum)}${iss.origin === 'array' ? ' items' : ''}`;
    default: return undefined;
  }
}

export interface IssueContext {
  readonly file: string;
  readonly document: number;
  readonly resource?: string;
  readonly schema: z.ZodType;
  readonly raw: unknown;
  readonly lineOf: (path: readonly PathSegment[]) => number | undefined;
}

/** One ResourceError per issue, and per key for unknown keys. */
export function issuesToErrors(issues: readonly z.core.$ZodIssue[], ctx: IssueContext): ResourceError[] {
  const out: ResourceError[] = [];
  const base = { file: ctx.file, document: ctx.document, ...(ctx.resource === undefined ? {} : { resource: ctx.resource }) };
  for (const iss of issues) {
    const at = iss.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    if (iss.code === 'unrecognized_keys') {
      const allowed = objectKeysAt(ctx.schema, at) ?? [];
      for (const k of iss.keys) {
        const path = [...at, k];
        out.push(makeResourceError({
          ...base, code: 'UNKNOWN_KEY', path, line: ctx.lineOf(path), value: valueAt(ctx.raw, path),
          expected: unknownKeyExpectation(k, allowed),
        }));
      }
      continue;
    }
    if (iss.code === 'invalid_key') {
      // The key itself is bad (a label key): show the key, and the key schema's own words.
      out.push(makeResourceError({
        ...base, code: 'INVALID_FIELD', path: at, line: ctx.lineOf(at), value: at[at.length - 1],
        expected: iss.issues[0]?.message ?? 'a valid key',
      }));
      continue;
    }
    const value = valueAt(ctx.raw, at);
    const required = value === undefined && iss.code === 'invalid_type' ? ' (required)' : '';
    out.push(makeResourceError({ ...base, code: 'INVALID_FIELD', path: at, line: ctx.lineOf(at), value, expected: `${iss.message}${required}` }));
  }
  return out;
}

function unknownKeyExpectation(key: string, allowed: readonly string[]): string {
  const guess = closestName(key, allowed);
  const list = allowed.length > 0 ? `one of the keys ${allowed.join(', ')}` : 'no such key';
  return guess === undefined ? list : `${list} (did you mean "${guess}"?)`;
}
