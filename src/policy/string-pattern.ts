// Principal and path patterns: "exact", "prefix*", "*suffix" or "*" (Istio's
// glob subset). Parsed once when policies load, so the data path only does
// Set lookups and startsWith/endsWith.

export type StringPattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string };

/** undefined when `text` is empty or has a `*` anywhere but alone, first or last. */
export function parseStringPattern(text: string): StringPattern | undefined {
  if (text === '*') return { kind: 'any' };
  const stars = text.split('*').length - 1;
  if (text.length === 0 || stars > 1) return undefined;
  if (stars === 0) return { kind: 'exact', value: text };
  if (text.endsWith('*')) return { kind: 'prefix', value: text.slice(0, -1) };
  if (text.startsWith('*')) return { kind: 'suffix', value: text.slice(1) };
  return undefined;
}

export function formatStringPattern(p: StringPattern): string {
  switch (p.kind) {
    case 'any': return '*';
    case 'exact': return p.value;
    case 'prefix': return `${p.value}*`;
    case 'suffix': return `*${p.value}`;
  }
}

/**
 * A compiled list of patterns. `*` matches any non-empty string: an empty
 * caller ID or path is never "anything", it is a bug upstream.
 */
export interface PatternSet {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
}

export function compilePatternSet(patterns: readonly StringPattern[]): PatternSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  let any = false;
  for (const p of patterns) {
    if (p.kind === 'any') any = true;
    else if (p.kind === 'exact') exact.add(p.value);
    else if (p.kind === 'prefix') prefixes.push(p.value);
    else suffixes.push(p.value);
  }
  return { any, exact, prefixes, suffixes };
}

export function matchesPatternSet(set: PatternSet, s: string): boolean {
  if (s.length === 0) return false;
  if (set.any || set.exact.has(s)) return true;
  for (const p of set.prefixes) if (s.startsWith(p)) return true;
  for (const p of set.suffixes) if (s.endsWith(p)) return true;
  return false;
}
