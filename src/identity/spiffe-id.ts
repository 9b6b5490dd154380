// SPIFFE IDs and trust domains, parsed once at the edge (SPIFFE-ID standard,
// spiffe/spiffe standards/SPIFFE-ID.md). Inside Entente only these types travel.
//
// Divergence decision: the scheme is accepted only as lower-case "spiffe"
// (the spec says implementations should treat the scheme case-insensitively
// when comparing but the canonical form is lower case; go-spiffe rejects
// upper case). We follow go-spiffe and reject, so one ID has one spelling.
import { EntenteError } from '../core/errors.js';

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
const MAX_TRUST_DOMAIN_BYTES = 255;
const MAX_ID_BYTES = 2048;

declare const trustDomainBrand: unique symbol;
/** A validated trust domain name; only parseTrustDomain makes one. */
export type TrustDomain = string & { readonly [trustDomainBrand]: true };

export type IdParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export function checkTrustDomain(name: string): IdParseResult<TrustDomain> {
  if (name.length === 0) return { ok: false, reason: 'trust domain is empty' };
  if (Buffer.byteLength(name) > MAX_TRUST_DOMAIN_BYTES) {
    return { ok: false, reason: `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes` };
  }
  if (!TRUST_DOMAIN_CHARS.test(name)) {
    return {
      ok: false,
      reason: `trust domain "${name}" has characters other than lower-case letters, digits, ".", "-" and "_"`,
    };
  }
  return { ok: true, value: name as TrustDomain };
}

export function parseTrustDomain(name: string): TrustDomain {
  const r = checkTrustDomain(name);
  if (!r.ok) throw new EntenteError('BAD_TRUST_DOMAIN', r.reason, { hint: 'e.g. "eu.example.org"' });
  return r.value;
}

/** An immutable, validated SPIFFE ID. */
export class SpiffeId {
  private constructor(
    readonly trustDomain: TrustDomain,
    /** "" or "/seg/seg..." — never a trailing slash. */
    readonly path: string,
  ) {}

  static check(text: string): IdParseResult<SpiffeId> {
    if (text.length === 0) return { ok: false, reason: 'SPIFFE ID is empty' };
    if (Buffer.byteLength(text) > MAX_ID_BYTES) return { ok: false, reason: `SPIFFE ID is longer than ${MAX_ID_BYTES} bytes` };
    const prefix = 'spiffe://';
    if (!text.startsWith(prefix)) {
      if (text.toLowerCase().startsWith(prefix)) return { ok: false, reason: 'scheme must be lower-case "spiffe"' };
      return { ok: false, reason: 'scheme is missing or is not "spiffe://"' };
    }
    const rest = text.slice(prefix.length);
    const slash = rest.indexOf('/');
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    if (authority.includes('@')) return { ok: false, reason: 'user info is not allowed' };
    if (authority.includes(':')) return { ok: false, reason: 'a port is not allowed' };
    if (rest.includes('?')) return { ok: false, reason: 'a query is not allowed' };
    if (rest.includes('#')) return { ok: false, reason: 'a fragment is not allowed' };
    if (rest.includes('%')) return { ok: false, reason: 'percent-encoding is not allowed' };
    const td = checkTrustDomain(authority);
    if (!td.ok) return td;
    if (path !== '') {
      if (path.endsWith('/')) return { ok: false, reason: 'path has a trailing slash' };
      for (const seg of path.slice(1).split('/')) {
        if (seg === '') return { ok: false, reason: 'path has an empty segment' };
        if (seg === '.' || seg === '..') return { ok: false, reason: `path has a "${seg}" segment` };
        if (!PATH_SEGMENT_CHARS.test(seg)) {
          return { ok: false, reason: `path segment "${seg}" has characters other than letters, digits, ".", "-" and "_"` };
        }
      }
    }
    return { ok: true, value: new SpiffeId(td.value, path) };
  }

  static parse(text: string): SpiffeId {
    const r = SpiffeId.check(text);
    if (!r.ok) throw new EntenteError('BAD_SPIFFE_ID', `"${text}": ${r.reason}`, { hint: 'expected spiffe://trust-domain/path' });
    return r.value;
  }

  static fromParts(trustDomain: TrustDomain, segments: readonly string[]): SpiffeId {
    return SpiffeId.parse(`spiffe://${trustDomain}${segments.map((s) => `/${s}`).join('')}`);
  }

  /** The workload identity convention: spiffe://<td>/ns/<namespace>/sa/<serviceAccount>. */
  static forWorkload(trustDomain: TrustDomain, namespace: string, serviceAccount: string): SpiffeId {
    return SpiffeId.fromParts(trustDomain, ['ns', namespace, 'sa', serviceAccount]);
  }

  /** The namespace in a /ns/<namespace>/... path, if the ID follows that convention. */
  get namespace(): string | undefined {
    const m = /^\/ns\/([^/]+)/.exec(this.path);
    return m?.[1];
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain === other.trustDomain && this.path === other.path;
  }

  toString(): string {
    return `spiffe://${this.trustDomain}${this.path}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
