// `entente validate FILE|DIR`: each config, resource or test-cases file checked offline
// with the schema its component uses, every problem with file, line, key,
// value and what was expected. A directory is every *.yaml / *.yml under it,
// listed as the controller lists a resource directory. Per file only: the
// checks across resources (references, duplicates) are `entente policy lint`'s.
import { readFile, stat } from 'node:fs/promises';
import { checkConfigText } from '../core/config-file.js';
import { parseYamlSource } from '../core/yaml-source.js';
import { syntaxProblem } from '../core/config-problems.js';
import { EntenteError } from '../core/errors.js';
import { listResourceFiles, parseResourceText } from '../policy/load-resources.js';
import { policyCasesSchema } from '../policy/tools/cases.js';
import { CONFIG_KINDS, KIND_TITLES, recogniseKind, type FileKind } from './config-kinds.js';

export interface FileProblem {
  readonly line?: number;
  readonly column?: number;
  readonly key: string;
  readonly value?: string;
  readonly expected: string;
  readonly message: string;
}

export interface FileReport {
  readonly file: string;
  /** undefined: the content does not say what the file is. */
  readonly kind?: FileKind;
  readonly ok: boolean;
  readonly problems: readonly FileProblem[];
}

const pick = ({ line, column, key, value, expected, message }: FileProblem & Record<string, unknown>): FileProblem => ({
  ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }), key, ...(value === undefined ? {} : { value }), expected, message,
});

/** Pure: one file's text. */
export function validateText(file: string, text: string): FileReport {
  const kind = recogniseKind(text, file);
  if (kind === 'resources') {
    const problems = parseResourceText(file, text).errors.map((e) => pick({ ...e }));
    return { file, kind, ok: problems.length === 0, problems };
  }
  if (kind === undefined) {
    const src = parseYamlSource(text);
    const problems = src.syntaxErrors.length > 0
      ? src.syntaxErrors.map((e) => pick({ ...syntaxProblem(file, e) }))
      : [{ key: '', expected: 'a known file', message: `${file}: cannot tell which file this is: expected a controller region.yaml (region, trustDomain, ...), an agent.yaml (node, ...), a gateway.yaml (name, ...), an anycast.yaml (localAs, routerId, ...), policy resources (apiVersion, kind) or policy test cases (a list of from, to, expect)` }];
    return { file, ok: false, problems };
  }
  const r = checkConfigText(kind === 'cases' ? policyCasesSchema : CONFIG_KINDS[kind].schema, text, file);
  return { file, kind, ok: r.ok, problems: r.ok ? [] : r.problems.map((p) => pick({ ...p })) };
}

/** Every file of `path` (a file, or the YAML files under a directory). A path that does not exist is a usage error. */
export async function validatePath(path: string): Promise<FileReport[]> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined) throw new EntenteError('CLI_USAGE', `${path}: no such file or directory`);
  let files = [path];
  if (st.isDirectory()) {
    const listed = await listResourceFiles(path);
    if (listed.errors.length > 0) throw new EntenteError('CLI_USAGE', listed.errors.map((e) => e.message).join('; '));
    files = listed.files;
  }
  const out: FileReport[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      out.push({ file, ok: false, problems: [{ key: '', expected: 'a readable file', message: `${file}: cannot read: ${(err as Error).message}` }] });
      continue;
    }
    out.push(validateText(file, text));
  }
  return out;
}

export function formatReports(reports: readonly FileReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const what = r.kind === undefined ? 'unknown kind' : KIND_TITLES[r.kind];
    if (r.ok) lines.push(`ok    ${r.file} (${what})`);
    else {
      lines.push(`FAIL  ${r.file} (${what}): ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
      for (const p of r.problems) lines.push(`  ${p.message.replace(/\n/g, '\n    ')}`);
    }
  }
  const bad = reports.filter((r) => !r.ok).length;
  lines.push(`${reports.length} file${reports.length === 1 ? '' : 's'}: ${reports.length - bad} valid, ${bad} with problems`);
  return `${lines.join('\n')}\n`;
}
