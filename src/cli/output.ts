// -o text|json|yaml|wide, the same on every command that prints data. JSON and
// YAML print the command's report object as is, so scripts read one shape.
import { stringify } from 'yaml';
import { EntenteError } from '../core/errors.js';

export const OUTPUT_FORMATS = ['text', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  if ((allowed as readonly string[]).includes(value)) return value as OutputFormat;
  throw new EntenteError('CLI_USAGE', `-o ${value}: expected ${allowed.map((f) => `"${f}"`).join(', ')}`);
}

/** The report as JSON or YAML; undefined for text and wide (the command draws those). */
export function structured(format: OutputFormat, report: unknown): string | undefined {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'yaml') return stringify(report);
  return undefined;
}

/** Rows as aligned columns (the last column is not padded). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The format asked for with -o, or with --json (the older spelling of -o json, kept on the commands that had it). */
export function outputFormatOf(opts: { output?: string; json?: boolean }, formats: readonly OutputFormat[] = ['text', 'json', 'yaml']): OutputFormat {
  return opts.json ? 'json' : parseOutputFormat(opts.output ?? 'text', formats);
}
