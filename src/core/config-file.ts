// Loads a component's YAML config and checks it whole against its schema:
// every problem is reported in one pass with the key, the bad value and what
// was expected, before anything starts.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type * as z from 'zod';
import { EntenteError } from './errors.js';

export interface ConfigProblem {
  readonly key: string;
  readonly value: string;
  readonly expected: string;
}

function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Formats zod issues as key / value / expected triples. */
export function describeIssues(root: unknown, issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.map((i) => {
    const path = i.code === 'unrecognized_keys' ? [...i.path, i.keys[0] ?? ''] : i.path;
    return {
      key: keyPath(path),
      value: show(i.code === 'unrecognized_keys' ? i.keys.join(', ') : valueAt(root, i.path)),
      expected: i.code === 'unrecognized_keys' ? 'no such key (check the spelling)' : i.message,
    };
  });
}

/** Parses and checks `raw` (already-parsed YAML/JSON) against `schema`. */
export function checkConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = describeIssues(raw, r.error.issues);
  const lines = problems.map((p) => `  ${p.key}: got ${p.value}; expected ${p.expected}`);
  throw new EntenteError('BAD_CONFIG', `${source} has ${problems.length} problem(s):\n${lines.join('\n')}`, {
    hint: 'see docs/configuration.md',
  });
}

export function loadConfigFile<S extends z.ZodType>(schema: S, path: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EntenteError('CONFIG_UNREADABLE', `cannot read config ${path}`, { cause: err, hint: 'check the --config path' });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` line ${err.linePos[0].line}` : '';
    throw new EntenteError('BAD_CONFIG', `${path}${where}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  return checkConfig(schema, raw ?? {}, path);
}
