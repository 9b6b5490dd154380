// Loads a component's YAML config and checks it whole against its schema:
// every problem is reported in one pass with file, line, key, the bad value
// and what was expected in plain words, before anything starts.
import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { EntenteError } from './errors.js';
import { issuesToProblems, plainExpectation, syntaxProblem, type ConfigProblem } from './config-problems.js';
import { parseYamlSource, type KeyPath } from './yaml-source.js';

export type { ConfigProblem } from './config-problems.js';

export type ConfigCheck<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

const DEFAULT_HINT = 'see docs/configuration.md';

/** Pure: `raw` (already-parsed YAML or JSON) against `schema`; `lineOf` locates keys when the text is known. */
export function checkConfigValue<S extends z.ZodType>(schema: S, raw: unknown, file: string, lineOf?: (path: KeyPath) => number | undefined): ConfigCheck<z.output<S>> {
  const r = schema.safeParse(raw, { error: plainExpectation });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, problems: issuesToProblems(r.error.issues, { file, raw, schema, ...(lineOf ? { lineOf } : {}) }) };
}

/**
 * Pure: a config file's text against `schema`. An empty file is an empty
 * mapping. `set` replaces top-level keys before the check (command-line
 * flags that stand for a key; the caller checks their values itself, so that
 * a problem names the flag).
 */
export function checkConfigText<S extends z.ZodType>(schema: S, text: string, file: string, set?: Readonly<Record<string, unknown>>): ConfigCheck<z.output<S>> {
  const src = parseYamlSource(text);
  if (src.syntaxErrors.length > 0) return { ok: false, problems: src.syntaxErrors.map((e) => syntaxProblem(file, e)) };
  const value = set && (src.value === undefined || src.value === null || (typeof src.value === 'object' && !Array.isArray(src.value))) ? { ...((src.value ?? {}) as object), ...set } : (src.value ?? {});
  return checkConfigValue(schema, value, file, src.lineOf);
}

/** The one error a bad config throws: every problem, one per line (a syntax error's excerpt indented below it). */
export function configError(file: string, problems: readonly ConfigProblem[], hint = DEFAULT_HINT): EntenteError {
  const n = problems.length;
  const lines = problems.map((p) => `  ${p.message.replace(/\n/g, '\n    ')}`);
  return new EntenteError('BAD_CONFIG', `${file} has ${n} problem${n === 1 ? '' : 's'}:\n${lines.join('\n')}`, { hint });
}

/** `raw` against `schema`, or throws BAD_CONFIG listing every problem (no lines: there is no text). */
export function checkConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string, hint?: string): z.output<S> {
  const r = checkConfigValue(schema, raw, source);
  if (r.ok) return r.value;
  throw configError(source, r.problems, hint);
}

/** Reads and checks a config file, or throws CONFIG_UNREADABLE / BAD_CONFIG (every problem, with its line); `set` as for checkConfigText. */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string, hint?: string, set?: Readonly<Record<string, unknown>>): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EntenteError('CONFIG_UNREADABLE', `cannot read config ${path}: ${(err as Error).message}`, { cause: err, hint: 'check the --config path' });
  }
  const r = checkConfigText(schema, text, path, set);
  if (r.ok) return r.value;
  throw configError(path, r.problems, hint);
}
