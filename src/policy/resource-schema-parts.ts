// zod building blocks shared by every resource kind's schema (resources.ts,
// traffic-policy-schema.ts), so a label, a port, a method or a path pattern is
// spelled, checked and explained the same way in every kind.
import * as z from 'zod';
import { isDnsLabel } from '../mesh/sni-name.js';
import { parseStringPattern } from './string-pattern.js';

export const API_VERSION = 'entente.dev/v1alpha1';

// Every schema carries its own "expected" text: the loader shows it verbatim.
export const LABEL_TEXT = 'a DNS-1123 label (lower-case letters, digits and "-", 1-63 characters, alphanumeric at both ends)';

export function label(what = LABEL_TEXT): z.ZodType<string> {
  return z.string({ error: what }).refine(isDnsLabel, { error: what });
}

export const port = z
  .number({ error: 'a port number 1-65535' })
  .int({ error: 'a port number 1-65535 (an integer)' })
  .min(1, { error: 'a port number 1-65535' })
  .max(65535, { error: 'a port number 1-65535' });

/** A strict object whose own type error reads `what`. */
export function strict<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  return z.strictObject(shape, { error: (iss) => (iss.code === 'invalid_type' ? what : undefined) });
}

/**
 * A non-empty list. For optional matchers an empty list would mean "any" to
 * some readers and "none" to others, so it is refused with a hint.
 */
export function list<T extends z.ZodType>(item: T, what: string, optional = true) {
  const hint = optional ? ' (leave the key out instead of writing [])' : '';
  return z.array(item, { error: `a list of ${what}` }).min(1, { error: `a non-empty list of ${what}${hint}` });
}

const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

const metadata = strict(
  {
    name: label(),
    namespace: label().default('default'),
    labels: z
      .record(
        z.string().regex(LABEL_KEY, { error: 'a label key ([prefix/]name, name at most 63 characters)' }),
        z.string({ error: 'a label value (a string of at most 63 characters)' }).regex(LABEL_VALUE, {
          error: 'a label value (letters, digits, "-", "_", ".", at most 63 characters, alphanumeric at both ends)',
        }),
        { error: (iss) => (iss.code === 'invalid_type' ? 'a mapping of label keys to string values' : undefined) },
      )
      .optional(),
  },
  'a mapping with name, optional namespace and optional labels',
);

export function resource<K extends string, S extends z.ZodType>(kind: K, spec: S) {
  return strict(
    {
      apiVersion: z.literal(API_VERSION, { error: `"${API_VERSION}"` }),
      kind: z.literal(kind, { error: `"${kind}"` }),
      metadata,
      spec,
    },
    `a ${kind} resource (a mapping with apiVersion, kind, metadata and spec)`,
  );
}

const METHOD_TEXT = 'an upper-case HTTP method, e.g. "GET"';
export const method = z.string({ error: METHOD_TEXT }).regex(/^[A-Z]{1,20}$/, { error: METHOD_TEXT });

const PATH_TEXT = 'a path: exact ("/api/v1"), prefix ("/api/*"), suffix ("*.png") or "*"; exact and prefix start with "/"';

function isPathPattern(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (text.length > 1024 || /[\u0000-\u0020\u007f?#]/.test(text)) return false;
  const p = parseStringPattern(text);
  if (!p) return false;
  return p.kind === 'any' || p.kind === 'suffix' || p.value.startsWith('/');
}

/** Request path patterns, one syntax for AuthorizationPolicy and TrafficPolicy (src/policy/string-pattern.ts). */
export const pathPattern = z.string({ error: PATH_TEXT }).refine(isPathPattern, { error: PATH_TEXT });
