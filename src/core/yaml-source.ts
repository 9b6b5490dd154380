// YAML text kept with its positions: the line of any key path (for error
// messages that point at the line to fix) and syntax errors shown as the
// line's text with a caret under the column.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

export type KeyPath = readonly (string | number)[];

export interface YamlSyntaxError {
  /** 1-based, when the parser gives a position. */
  readonly line?: number;
  readonly column?: number;
  /** The parser's problem in lower case, without its "at line N, column M" tail. */
  readonly problem: string;
  /** The offending line (and the one above when it is blank) with a caret line; "" without a position. */
  readonly excerpt: string;
}

export interface YamlSource {
  /** The document as plain data; undefined when there are syntax errors. */
  readonly value: unknown;
  readonly syntaxErrors: readonly YamlSyntaxError[];
  /** The line of the deepest existing node of `path` (the key's line for a mapping member). */
  lineOf(path: KeyPath): number | undefined;
}

/** Pure: one YAML document (a config file). Repeated keys are syntax errors. */
export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const syntaxErrors = doc.errors.map((e) => syntaxError(text, e.message, e.linePos?.[0]));
  let value: unknown;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      syntaxErrors.push(syntaxError(text, (err as Error).message, undefined));
    }
  }
  return { value, syntaxErrors, lineOf: (path) => lineOfPath(doc, lineCounter, path) };
}

export function syntaxError(text: string, message: string, pos: { line: number; col: number } | undefined): YamlSyntaxError {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const problem = first.charAt(0).toLowerCase() + first.slice(1);
  if (pos === undefined) return { problem, excerpt: '' };
  return { line: pos.line, column: pos.col, problem, excerpt: caretExcerpt(text, pos.line, pos.col) };
}

/**
 * The line with a caret under `column`, each line prefixed with its number.
 * A blank line (an error at the end of the file) gets the line above as context.
 */
export function caretExcerpt(text: string, line: number, column: number): string {
  const lines = text.split('\n');
  const width = String(line).length;
  const numbered = (n: number) => `${String(n).padStart(width)} | ${(lines[n - 1] ?? '').replace(/\t/g, ' ')}`;
  const shown = [numbered(line)];
  if ((lines[line - 1] ?? '').trim() === '' && line > 1) shown.unshift(numbered(line - 1));
  return [...shown, `${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`].join('\n');
}

/** The line of the deepest node of `path` that exists (the key's line for mapping members). */
export function lineOfPath(doc: Document, lc: LineCounter, path: KeyPath): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
