// One thing `entente policy lint` reports: an error (the controller would
// refuse the directory, or a reference names nothing) or a warning (a rule
// that never decides), located like the loader's errors.
import { formatKey, type PathSegment, type ResourceError } from '../resource-error.js';
import type { Origin } from '../load-resources.js';

export type FindingSeverity = 'error' | 'warning';

/** invalid: refused by the loader; dangling: names something DIR does not define; shadowed: never decides. */
export type FindingCategory = 'invalid' | 'dangling' | 'shadowed';

export interface Finding {
  readonly severity: FindingSeverity;
  readonly category: FindingCategory;
  /** The loader's ResourceErrorCode, or UNKNOWN_NAMESPACE, UNKNOWN_SERVICE_ACCOUNT, SHADOWED_RULE. */
  readonly code: string;
  readonly file: string;
  readonly document: number;
  readonly line?: number;
  /** "AuthorizationPolicy shop/allow-web" */
  readonly resource?: string;
  readonly key: string;
  /** One line: file:line: document N (resource): key: what is wrong. */
  readonly message: string;
}

/** Codes of loader errors that are references to something the directory does not define. */
const DANGLING_CODES = new Set(['UNKNOWN_SERVICE', 'UNKNOWN_PORT']);

export function fromLoaderError(e: ResourceError): Finding {
  return {
    severity: 'error', category: DANGLING_CODES.has(e.code) ? 'dangling' : 'invalid', code: e.code,
    file: e.file, document: e.document, ...(e.line === undefined ? {} : { line: e.line }),
    ...(e.resource === undefined ? {} : { resource: e.resource }), key: e.key, message: e.message,
  };
}

export interface FindingInit {
  readonly severity: FindingSeverity;
  readonly category: FindingCategory;
  readonly code: string;
  readonly origin: Origin;
  readonly resource: string;
  readonly path: readonly PathSegment[];
  readonly text: string;
}

export function makeFinding(init: FindingInit): Finding {
  const line = init.origin.lineOf(init.path);
  const key = formatKey(init.path);
  const where = `${init.origin.file}${line === undefined ? '' : `:${line}`}`;
  return {
    severity: init.severity, category: init.category, code: init.code,
    file: init.origin.file, document: init.origin.document, ...(line === undefined ? {} : { line }),
    resource: init.resource, key,
    message: `${where}: document ${init.origin.document} (${init.resource}): ${key}: ${init.text}`,
  };
}

/** Reading order: file, document, line. */
export function byLocation(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.document - b.document || (a.line ?? 0) - (b.line ?? 0);
}

/** "file:line: error: document N (resource): key: ... [CODE]", the compiler style editors can jump from. */
export function formatFinding(f: Finding): string {
  const where = `${f.file}${f.line === undefined ? '' : `:${f.line}`}`;
  const rest = f.message.startsWith(`${where}: `) ? f.message.slice(where.length + 2) : f.message;
  return `${where}: ${f.severity}: ${rest} [${f.code}]`;
}
