// SPIFFE IDs and trust domains, parsed once at the edge exactly as the SPIFFE-ID
// standard (spiffe/spiffe standards/SPIFFE-ID.md, sections 2.1-2.4) says. Inside
// Entente only these types travel; every rejection carries a stable code.
//
// Decision (docs/security.md): section 2.4 calls the scheme case-insensitive, but
// the trust domain MUST be lower case (2.1) and go-spiffe rejects "SPIFFE://". We
// accept only the lower-case scheme, so one identity has exactly one spelling and
// string comparison of IDs in policies is sound.
import { EntenteError } from '../core/errors.js';

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
export const MAX_TRUST_DOMAIN_BYTES = 255;
export const MAX_SPIFFE_ID_BYTES = 2048;
const SCHEME_PREFIX = 'spiffe://';

declare const trustDomainBrand: unique symbol;
/** A validated trust domain name; only checkTrustDomain/parseTrustDomain make one. */
export type TrustDomain = string & { readonly [trustDomainBrand]: true };

/** Which rule of the SPIFFE-ID standard an input breaks. */
export type IdRejection =
  | 'EMPTY'
  | 'TOO_LONG'
  | 'BAD_SCHEME'
  | 'SCHEME_NOT_LOWERCASE'
  | 'MISSING_TRUST_DOMAIN'
  | 'USERINFO'
  | 'PORT'
  | 'QUERY'
  | 'FRAGMENT'
  | 'PERCENT_ENCODED'
  | 'TRUST_DOMAIN_TOO_LONG'
  | 'TRUST_DOMAIN_NOT_LOWERCASE'
  | 'TRUST_DOMAIN_CHARS'
  | 'TRAILING_SLASH'
  | 'EMPTY_SEGMENT'
  | 'DOT_SEGMENT'
  | 'PATH_CHARS';

export type IdParseResult<T> = { ok: true; value: T } | { ok: false; code: IdRejection; reason: string };

const no = (code: IdRejection, reason: string): { ok: false; code: IdRejection; reason: string } => ({ ok: false, code, reason });

/** Checks a bare trust domain name ("eu.example.org"), as it appears in the authority. */
export function checkTrustDomain(name: string): IdParseResult<TrustDomain> {
  if (name.length === 0) return no('MISSING_TRUST_DOMAIN', 'trust domain is empty');
  if (name.includes('%')) return no('PERCENT_ENCODED', 'trust domain must not contain percent-encoded characters');
  if (Buffer.byteLength(name) > MAX_TRUST_DOMAIN_BYTES) {
    return no('TRUST_DOMAIN_TOO_LONG', `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`);
  }
  if (!TRUST_DOMAIN_CHARS.test(name)) {
    if (TRUST_DOMAIN_CHARS.test(name.toLowerCase())) {
      return no('TRUST_DOMAIN_NOT_LOWERCASE', `trust domain "${name}" must be lower case`);
    }
    return no('TRUST_DOMAIN_CHARS', `trust domain "${printable(name)}" may only contain a-z, 0-9, ".", "-" and "_"`);
  }
  return { ok: true, value: name as TrustDomain };
}

export function parseTrustDomain(name: string): TrustDomain {
  const r = checkTrustDomain(name);
  if (!r.ok) throw new EntenteError('BAD_TRUST_DOMAIN', r.reason, { hint: 'e.g. "eu.example.org": lower-case letters, digits, ".", "-", "_"' });
  return r.value;
}

/** Checks one path segment (the text between two "/"). */
export function checkPathSegment(seg: string): { ok: true } | { ok: false; code: IdRejection; reason: string } {
  if (seg === '') return no('EMPTY_SEGMENT', 'path has an empty segment');
  if (seg === '.' || seg === '..') return no('DOT_SEGMENT', `path has a relative "${seg}" segment`);
  if (seg.includes('%')) return no('PERCENT_ENCODED', 'path must not contain percent-encoded characters');
  if (!PATH_SEGMENT_CHARS.test(seg)) {
    return no('PATH_CHARS', `path segment "${printable(seg)}" may only contain letters, digits, ".", "-" and "_"`);
  }
  return { ok: true };
}

/** Shows control and non-ASCII characters as escapes so a reason is printable on one line. */
function printable(s: string): string {
  const shown = s.length > 64 ? `${s.slice(0, 64)}...` : s;
  return JSON.stringify(shown).slice(1, -1);
}

/** An immutable, validated SPIFFE ID. */
export class SpiffeId {
  private constructor(
    readonly trustDomain: TrustDomain,
    /** "" or "/seg/seg..." — never a trailing slash, never empty or dot segments. */
    readonly path: string,
  ) {}

  static check(text: string): IdParseResult<SpiffeId> {
    if (text.length === 0) return no('EMPTY', 'SPIFFE ID is empty');
    if (!text.startsWith(SCHEME_PREFIX)) {
      if (text.slice(0, SCHEME_PREFIX.length).toLowerCase() === SCHEME_PREFIX) {
        return no('SCHEME_NOT_LOWERCASE', 'scheme must be written "spiffe" in lower case');
      }
      return no('BAD_SCHEME', 'scheme must be "spiffe://"');
    }
    // Length counts every byte, scheme included (section 2.3). Non-ASCII would be
    // percent-encoded on the wire and is refused below anyway.
    if (Buffer.byteLength(text) > MAX_SPIFFE_ID_BYTES) return no('TOO_LONG', `SPIFFE ID is longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
    const rest = text.slice(SCHEME_PREFIX.length);
    // RFC 3986: the authority ends at the first "/", "?" or "#".
    const q = rest.indexOf('?');
    const h = rest.indexOf('#');
    if (q !== -1 && (h === -1 || q < h)) return no('QUERY', 'a query ("?...") is not allowed');
    if (h !== -1) return no('FRAGMENT', 'a fragment ("#...") is not allowed');
    const slash = rest.indexOf('/');
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    if (authority.includes('@')) return no('USERINFO', 'user info ("user@") is not allowed in the authority');
    if (authority.includes(':') && !authority.startsWith('[')) return no('PORT', 'a port (or the ":" delimiter) is not allowed');
    if (authority === '') return no('MISSING_TRUST_DOMAIN', 'trust domain is missing');
    const td = checkTrustDomain(authority);
    if (!td.ok) return td;
    if (path !== '') {
      if (path === '/' || path.endsWith('/')) {
        // "a//" has an empty segment and a trailing slash; report the last, simpler rule.
        return no('TRAILING_SLASH', 'path must not end with "/"');
      }
      for (const seg of path.slice(1).split('/')) {
        const s = checkPathSegment(seg);
        if (!s.ok) return s;
      }
    }
    return { ok: true, value: new SpiffeId(td.value, path) };
  }

  static parse(text: string): SpiffeId {
    const r = SpiffeId.check(text);
    if (!r.ok) {
      throw new EntenteError('BAD_SPIFFE_ID', `"${printable(text)}": ${r.reason}`, { hint: 'expected spiffe://trust-domain/path, e.g. spiffe://eu.example.org/ns/shop/sa/web' });
    }
    return r.value;
  }

  /** Builds an ID from segments, each checked alone: a segment cannot smuggle in a "/". */
  static fromParts(trustDomain: TrustDomain, segments: readonly string[]): SpiffeId {
    const td = parseTrustDomain(trustDomain);
    for (const seg of segments) {
      const s = checkPathSegment(seg);
      if (!s.ok) throw new EntenteError('BAD_SPIFFE_ID', `segment "${printable(seg)}": ${s.reason}`, { hint: 'segments may only contain letters, digits, ".", "-" and "_"' });
    }
    return SpiffeId.parse(`${SCHEME_PREFIX}${td}${segments.map((s) => `/${s}`).join('')}`);
  }

  /** The ID of the trust domain itself (no path), e.g. a signing certificate's SAN. */
  static forTrustDomain(trustDomain: TrustDomain): SpiffeId {
    return SpiffeId.fromParts(trustDomain, []);
  }

  /** The workload identity convention: spiffe://<td>/ns/<namespace>/sa/<serviceAccount>. */
  static forWorkload(trustDomain: TrustDomain, namespace: string, serviceAccount: string): SpiffeId {
    return SpiffeId.fromParts(trustDomain, ['ns', namespace, 'sa', serviceAccount]);
  }

  /** Path segments in order; [] for a trust domain ID. */
  get segments(): readonly string[] {
    return this.path === '' ? [] : this.path.slice(1).split('/');
  }

  /** True when the path is empty: the ID names the trust domain, not a workload. */
  get isTrustDomainId(): boolean {
    return this.path === '';
  }

  /** The namespace in a /ns/<namespace>/... path, if the ID follows that convention. */
  get namespace(): string | undefined {
    const m = /^\/ns\/([^/]+)/.exec(this.path);
    return m?.[1];
  }

  /**
   * True for a workload identity, exactly /ns/<namespace>/sa/<serviceAccount>.
   * Node, gateway and controller SVIDs (/node/x, /controller) are not: they
   * authenticate infrastructure and may never call a workload.
   */
  get isWorkloadId(): boolean {
    const s = this.segments;
    return s.length === 4 && s[0] === 'ns' && s[2] === 'sa';
  }

  memberOf(trustDomain: TrustDomain): boolean {
    return this.trustDomain === trustDomain;
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain === other.trustDomain && this.path === other.path;
  }

  toString(): string {
    return `${SCHEME_PREFIX}${this.trustDomain}${this.path}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
