// A config problem in our words: file, line, key, the value found and what is
// expected in plain words ("a number ≥ 1", "required", `unknown key "listn"
// (did you mean "listen"?)`), translated from zod's issues.
import type * as z from 'zod';
import { closestName, objectKeysAt } from './schema-keys.js';
import type { KeyPath, YamlSyntaxError } from './yaml-source.js';

export interface ConfigProblem {
  readonly file: string;
  /** 1-based; absent when the value was not read from text, or the key is missing from the top level. */
  readonly line?: number;
  /** Syntax errors only. */
  readonly column?: number;
  /** Dotted key path, e.g. "listen.admin", "peers[0].url"; "" for the whole file. */
  readonly key: string;
  /** The value found, as JSON (truncated); absent for a missing key, an unknown key and a syntax error. */
  readonly value?: string;
  /** What is expected, in plain words. */
  readonly expected: string;
  /** The problem on one line (a syntax error adds the source line and a caret below it). */
  readonly message: string;
}

const MAX_VALUE_CHARS = 80;
/** Keys whose values are never echoed: a join token in a log is a credential given away. */
const SECRET_KEYS = new Set(['joinToken']);

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function showValue(path: KeyPath, v: unknown): string {
  if (SECRET_KEYS.has(String(path[path.length - 1]))) return '(hidden)';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

export function valueAtPath(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
  bigint: 'an integer',
  date: 'a date',
};

const quote = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * zod's error map for the issues a schema does not word itself: pass it as
 * `safeParse(raw, { error: plainExpectation })`. A schema's own message wins.
 */
export function plainExpectation(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      return TYPE_WORDS[iss.expected] ?? `a value of type ${iss.expected}`;
    case 'too_small': {
      const n = Number(iss.minimum);
      if (iss.origin === 'string') return n === 1 ? 'a non-empty string' : `at least ${n} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return n === 1 ? 'a non-empty list' : `at least ${n} items`;
      return `a number ${iss.inclusive ? '≥' : '>'} ${n}`;
    }
    case 'too_big': {
      const n = Number(iss.maximum);
      if (iss.origin === 'string') return `at most ${n} characters`;
      if (iss.origin === 'array' || iss.origin === 'set') return `at most ${n} items`;
      return `a number ${iss.inclusive ? '≤' : '<'} ${n}`;
    }
    case 'invalid_value':
      return iss.values.length === 1 ? `exactly ${quote(iss.values[0])}` : `one of ${iss.values.map(quote).join(', ')}`;
    case 'invalid_format':
      return iss.format === 'regex' && 'pattern' in iss ? `text matching ${String(iss.pattern)}` : `a valid ${iss.format}`;
    case 'not_multiple_of':
      return `a multiple of ${String(iss.divisor)}`;
    case 'invalid_union': {
      const options = (iss as { options?: unknown[] }).options;
      return Array.isArray(options) ? `one of ${options.map(quote).join(', ')}` : 'one of the allowed forms';
    }
    default:
      return undefined;
  }
}

function where(file: string, line: number | undefined, column?: number): string {
  return `${file}${line === undefined ? '' : `:${line}`}${column === undefined ? '' : `:${column}`}`;
}

export interface IssueSource {
  readonly file: string;
  /** The parsed document the issues are about. */
  readonly raw: unknown;
  readonly schema: z.ZodType;
  readonly lineOf?: (path: KeyPath) => number | undefined;
}

/** One problem per issue, and one per key for unknown keys, in the order zod found them. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], src: IssueSource): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const iss of issues) {
    const at = iss.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (iss.code === 'unrecognized_keys') {
      const allowed = objectKeysAt(src.schema, at) ?? [];
      for (const k of iss.keys) out.push(unknownKey(src, [...at, k], allowed));
      continue;
    }
    const value = valueAtPath(src.raw, at);
    // A missing key has no line of its own: point at its parent's key; a missing top-level key at no line.
    const line = value !== undefined ? src.lineOf?.(at) : at.length > 1 ? src.lineOf?.(at.slice(0, -1)) : undefined;
    const key = formatKeyPath(at);
    const shownKey = key === '' ? '(top level)' : key;
    const expected = iss.message;
    // Absent: a missing required key, or a key a cross-key check asks for.
    if (value === undefined) {
      out.push({ file: src.file, ...(line === undefined ? {} : { line }), key, expected, message: `${where(src.file, line)}: ${shownKey}: required; expected ${expected}` });
      continue;
    }
    const shown = showValue(at, value);
    out.push({ file: src.file, ...(line === undefined ? {} : { line }), key, value: shown, expected, message: `${where(src.file, line)}: ${shownKey}: got ${shown}; expected ${expected}` });
  }
  // Reading order: keys without a line (missing at the top level) first, then by line; zod's order within a line.
  return out.map((p, i) => ({ p, i })).sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i).map(({ p }) => p);
}

function unknownKey(src: IssueSource, path: KeyPath, allowed: readonly string[]): ConfigProblem {
  const name = String(path[path.length - 1]);
  const guess = closestName(name, allowed);
  const expected = guess !== undefined ? `did you mean "${guess}"?` : allowed.length > 0 ? `one of the keys ${allowed.join(', ')}` : 'no key here';
  const line = src.lineOf?.(path);
  const detail = guess !== undefined ? ` (${expected})` : `; expected ${expected}`;
  return {
    file: src.file, ...(line === undefined ? {} : { line }), key: formatKeyPath(path), expected,
    message: `${where(src.file, line)}: ${formatKeyPath(path)}: unknown key ${JSON.stringify(name)}${detail}`,
  };
}

export function syntaxProblem(file: string, e: YamlSyntaxError): ConfigProblem {
  const head = `${where(file, e.line, e.column)}: not valid YAML: ${e.problem}`;
  return {
    file, ...(e.line === undefined ? {} : { line: e.line }), ...(e.column === undefined ? {} : { column: e.column }),
    key: '', expected: 'valid YAML', message: e.excerpt === '' ? head : `${head}\n${e.excerpt}`,
  };
}
