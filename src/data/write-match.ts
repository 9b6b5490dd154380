// Which HTTP requests to a data service are writes (DataRoute spec.http.writes,
// docs/data-routing.md): a request is a write when any one match fits it, and
// a match fits when every part it names does (methods, paths, header). The
// rest are reads. Compiled once per config, so a call pays a few set lookups.
import { compilePatternSet, matchesPatternSet, parseStringPattern, type PatternSet } from '../policy/string-pattern.js';

export interface WireWriteMatch {
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
  readonly header?: { readonly name: string; readonly values?: readonly string[] };
}

/** A request's header, as Node gives it: undefined, one value, or several. */
export type HeaderLookup = (name: string) => string | readonly string[] | undefined;

export type WriteMatcher = (method: string, path: string, header: HeaderLookup) => boolean;

interface CompiledMatch {
  readonly methods: ReadonlySet<string> | undefined;
  readonly paths: PatternSet | undefined;
  readonly header: { readonly name: string; readonly values: ReadonlySet<string> | undefined } | undefined;
}

function headerFits(want: NonNullable<CompiledMatch['header']>, header: HeaderLookup): boolean {
  const got = header(want.name);
  if (got === undefined) return false;
  if (!want.values) return true;
  const values = typeof got === 'string' ? [got] : got;
  return values.some((v) => want.values!.has(v.trim()));
}

export function compileWriteMatcher(matches: readonly WireWriteMatch[]): WriteMatcher {
  const compiled: CompiledMatch[] = matches.map((m) => ({
    methods: m.methods ? new Set(m.methods.map((x) => x.toUpperCase())) : undefined,
    // The resource schema admitted only valid patterns; one that still does not parse matches nothing.
    paths: m.paths ? compilePatternSet(m.paths.flatMap((p) => parseStringPattern(p) ?? [])) : undefined,
    header: m.header ? { name: m.header.name.toLowerCase(), values: m.header.values ? new Set(m.header.values) : undefined } : undefined,
  }));
  return (method, path, header) => {
    const upper = method.toUpperCase();
    for (const m of compiled) {
      if (m.methods && !m.methods.has(upper)) continue;
      if (m.paths && !matchesPatternSet(m.paths, path)) continue;
      if (m.header && !headerFits(m.header, header)) continue;
      return true;
    }
    return false;
  };
}
