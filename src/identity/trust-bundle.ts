// Trust bundles: the keys of one trust domain, and their SPIFFE bundle form, a
// JWK Set (spiffe/spiffe standards/SPIFFE_Trust_Domain_and_Bundle.md section 4,
// X509-SVID.md section 6). Parsing follows the consumer rules to the letter:
// unknown kty/use are ignored, x509-svid entries without x5c are ignored, only
// x5c[0] counts; structural errors (no "keys", a JWK whose key does not match
// its certificate, bad spiffe_sequence) reject the whole document.
import { X509Certificate, createPublicKey, type JsonWebKey } from 'node:crypto';
import { EntenteError } from '../core/errors.js';
import { derToPem, pemBlocks } from './pem.js';
import { parseTrustDomain, type TrustDomain } from './spiffe-id.js';
import { isJsonObject, parseStrictJson, stringifyJson, type StrictJson } from './strict-json.js';

/** A jwt-svid key: kept apart from X.509 authorities so no key serves both SVID types. */
export interface JwtAuthority {
  readonly keyId: string;
  readonly jwk: JsonWebKey;
}

export interface TrustBundle {
  readonly trustDomain: TrustDomain;
  /** PEM certificates of the trust domain's X.509-SVID signing authorities. */
  readonly x509Authorities: readonly string[];
  /** spiffe_sequence: a 64-bit unsigned integer that grows with every change; undefined when absent. */
  readonly sequence: bigint | undefined;
  /** spiffe_refresh_hint in seconds (300 when the document has none, as the spec suggests). */
  readonly refreshHintSeconds: number;
  /** jwt-svid keys, parsed but never used for X.509 verification. */
  readonly jwtAuthorities?: readonly JwtAuthority[];
}

export const DEFAULT_REFRESH_HINT_SECONDS = 300;
export const MAX_SEQUENCE = 2n ** 64n - 1n;

type Jwk = { [key: string]: StrictJson };

export interface SpiffeBundleDocument {
  keys: Jwk[];
  spiffe_sequence?: bigint;
  spiffe_refresh_hint?: number;
}

/** Builds the JWK Set; write it with bundleToJson (JSON.stringify cannot write a bigint). */
export function bundleToDocument(b: TrustBundle): SpiffeBundleDocument {
  const keys: Jwk[] = b.x509Authorities.map((pem) => {
    const cert = new X509Certificate(pem);
    const jwk = cert.publicKey.export({ format: 'jwk' }) as Jwk;
    // X509-SVID 6.1: use=x509-svid, no kid, exactly one certificate in x5c.
    return { ...jwk, use: 'x509-svid', x5c: [cert.raw.toString('base64')] };
  });
  for (const j of b.jwtAuthorities ?? []) keys.push({ ...(j.jwk as Jwk), kid: j.keyId, use: 'jwt-svid' });
  const doc: SpiffeBundleDocument = { keys };
  if (b.sequence !== undefined) doc.spiffe_sequence = b.sequence;
  doc.spiffe_refresh_hint = b.refreshHintSeconds;
  return doc;
}

export function bundleToJson(b: TrustBundle, indent?: number): string {
  return stringifyJson(bundleToDocument(b), indent);
}

export interface BundleParseReport {
  readonly bundle: TrustBundle;
  /** JWK entries skipped as the spec requires (unknown kty/use, no x5c). */
  readonly ignored: readonly string[];
  /** Publisher-side rules the document breaks that a consumer tolerates. */
  readonly warnings: readonly string[];
}

const KNOWN_KTY = new Set(['EC', 'RSA', 'OKP']);

function badBundle(td: string, msg: string): never {
  throw new EntenteError('BAD_BUNDLE', `bundle of ${td}: ${msg}`, { hint: 'expected a SPIFFE bundle: a JWK Set with "keys" (SPIFFE Trust Domain and Bundle, section 4)' });
}

function sameKey(a: JsonWebKey, b: JsonWebKey): boolean {
  try {
    return createPublicKey({ key: a, format: 'jwk' }).equals(createPublicKey({ key: b, format: 'jwk' }));
  } catch {
    return false;
  }
}

/** The public parameters of a JWK only: a private "d" in a bundle is never carried on. */
function publicJwk(k: Jwk): JsonWebKey {
  const out: Record<string, unknown> = {};
  for (const p of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (typeof k[p] === 'string') out[p] = k[p];
  return out as JsonWebKey;
}

function parseUint64(td: string, name: string, v: StrictJson | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  // A non-integer, or an integer that went through a double (1.8e19): refused, never rounded.
  if ((typeof v !== 'number' || !Number.isSafeInteger(v)) && typeof v !== 'bigint') badBundle(td, `${name} must be an integer written in full`);
  const b = BigInt(v);
  if (b < 0n || b > MAX_SEQUENCE) badBundle(td, `${name} must be an unsigned 64-bit integer (0..${MAX_SEQUENCE})`);
  return b;
}

/** Parses an already-decoded bundle document (prefer parseBundleJson: it sees duplicate keys and big numbers). */
export function parseBundleDocument(doc: StrictJson | unknown, trustDomain: string): BundleParseReport {
  const td = parseTrustDomain(trustDomain);
  if (!isJsonObject(doc as StrictJson)) badBundle(td, 'not a JSON object');
  const d = doc as Jwk;
  if (!Array.isArray(d.keys)) badBundle(td, '"keys" is missing or not an array');
  const ignored: string[] = [];
  const warnings: string[] = [];
  const authorities: string[] = [];
  const jwt: JwtAuthority[] = [];
  for (const [i, k] of d.keys.entries()) {
    const where = `keys[${i}]`;
    if (!isJsonObject(k)) badBundle(td, `${where} is not an object`);
    if (typeof k.kty !== 'string' || !KNOWN_KTY.has(k.kty)) {
      ignored.push(`${where}: unknown or missing kty`);
      continue;
    }
    if (k.use === 'x509-svid') {
      const x5c = k.x5c;
      if (!Array.isArray(x5c) || x5c.length === 0) {
        ignored.push(`${where}: x509-svid entry without x5c`);
        continue;
      }
      if (x5c.length > 1) warnings.push(`${where}: x5c holds ${x5c.length} certificates; only the first counts (X509-SVID 6.2)`);
      if (k.kid !== undefined) warnings.push(`${where}: an x509-svid entry must not set kid (X509-SVID 6.1)`);
      if (typeof x5c[0] !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(x5c[0])) badBundle(td, `${where}.x5c[0] is not base64`);
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(Buffer.from(x5c[0], 'base64'));
      } catch (err) {
        return badBundle(td, `${where}.x5c[0] is not a DER certificate (${(err as Error).message})`);
      }
      // RFC 7517 4.7: the first certificate's key MUST match the JWK's key.
      if (!sameKey(publicJwk(k), cert.publicKey.export({ format: 'jwk' }))) badBundle(td, `${where}: the JWK key does not match the certificate in x5c[0]`);
      if (!cert.ca) warnings.push(`${where}: x5c[0] is not a CA certificate; it cannot sign SVIDs`);
      authorities.push(derToPem(cert.raw, 'CERTIFICATE'));
    } else if (k.use === 'jwt-svid') {
      if (typeof k.kid !== 'string' || k.kid === '') badBundle(td, `${where}: a jwt-svid key must have a kid (JWT-SVID 5.1)`);
      const jwk = publicJwk(k);
      try {
        createPublicKey({ key: jwk, format: 'jwk' });
      } catch (err) {
        return badBundle(td, `${where}: jwt-svid key cannot be imported (${(err as Error).message})`);
      }
      jwt.push({ keyId: k.kid, jwk });
    } else {
      ignored.push(`${where}: unknown or missing use`);
    }
  }
  const sequence = parseUint64(td, 'spiffe_sequence', d.spiffe_sequence);
  const hint = d.spiffe_refresh_hint;
  if (hint !== undefined && (typeof hint !== 'number' || !Number.isSafeInteger(hint) || hint < 0)) badBundle(td, 'spiffe_refresh_hint must be a non-negative integer (seconds)');
  return {
    bundle: { trustDomain: td, x509Authorities: authorities, jwtAuthorities: jwt, sequence, refreshHintSeconds: hint ?? DEFAULT_REFRESH_HINT_SECONDS },
    ignored,
    warnings,
  };
}

/** Parses SPIFFE bundle JSON text for `trustDomain`, exactly (duplicate keys refused, sequence as bigint). */
export function parseBundleJson(text: string, trustDomain: string): TrustBundle {
  return parseBundleDocument(parseStrictJson(text), trustDomain).bundle;
}

/** Compatibility wrapper: a document decoded elsewhere (JSON.parse has already lost duplicates/precision). */
export function bundleFromDocument(doc: unknown, trustDomain: string): TrustBundle {
  return parseBundleDocument(doc, trustDomain).bundle;
}

/**
 * A bundle map {"<trust domain>": <bundle>, ...}. A trust domain that appears
 * twice is refused: with JSON.parse the last copy would silently win.
 */
export function parseBundleMapJson(text: string): Map<TrustDomain, TrustBundle> {
  const doc = parseStrictJson(text);
  if (!isJsonObject(doc)) throw new EntenteError('BAD_BUNDLE', 'bundle map is not a JSON object', { hint: 'expected {"<trust domain>": <SPIFFE bundle>, ...}' });
  const out = new Map<TrustDomain, TrustBundle>();
  for (const [name, b] of Object.entries(doc)) {
    const td = parseTrustDomain(name);
    out.set(td, parseBundleDocument(b, td).bundle);
  }
  return out;
}

export function bundleMapToJson(bundles: Iterable<TrustBundle>, indent?: number): string {
  const obj: Record<string, SpiffeBundleDocument> = {};
  for (const b of bundles) {
    if (b.trustDomain in obj) throw new EntenteError('BAD_BUNDLE', `trust domain ${b.trustDomain} appears twice`);
    obj[b.trustDomain] = bundleToDocument(b);
  }
  return stringifyJson(obj, indent);
}

/** A bundle from PEM CA certificates (operator-provided roots); sequence unknown. */
export function bundleFromPem(pem: string, trustDomain: string): TrustBundle {
  const td = parseTrustDomain(trustDomain);
  const certs = pemBlocks(pem, 'CERTIFICATE').map((der) => derToPem(der, 'CERTIFICATE'));
  if (certs.length === 0) throw new EntenteError('BAD_BUNDLE', `no PEM certificate found for ${td}`, { hint: 'expected one or more -----BEGIN CERTIFICATE----- blocks' });
  return { trustDomain: td, x509Authorities: certs, sequence: undefined, refreshHintSeconds: DEFAULT_REFRESH_HINT_SECONDS, jwtAuthorities: [] };
}

/** True when two bundles carry the same keys and hint (order-insensitive). */
export function sameBundleContent(a: TrustBundle, b: TrustBundle): boolean {
  const norm = (x: TrustBundle) =>
    JSON.stringify([
      [...x.x509Authorities].map((p) => p.replace(/\s+/g, '')).sort(),
      [...(x.jwtAuthorities ?? [])].map((j) => `${j.keyId}:${JSON.stringify(j.jwk, Object.keys(j.jwk).sort())}`).sort(),
      x.refreshHintSeconds,
    ]);
  return a.trustDomain === b.trustDomain && norm(a) === norm(b);
}

export type BundleUpdateDecision =
  | { kind: 'accept' }
  | { kind: 'reject'; code: 'TRUST_DOMAIN_MISMATCH' | 'SEQUENCE_MISSING' | 'NOT_NEWER' | 'UNCHANGED' | 'SAME_SEQUENCE_DIFFERENT_CONTENT'; reason: string };

/**
 * Whether `next` may replace `current`. The sequence must grow: a replayed
 * older bundle would resurrect removed (revoked) keys. Without any sequence on
 * either side the most recent one wins (Federation 4.2).
 */
export function acceptBundleUpdate(current: TrustBundle | undefined, next: TrustBundle): BundleUpdateDecision {
  if (!current) return { kind: 'accept' };
  if (current.trustDomain !== next.trustDomain) {
    return { kind: 'reject', code: 'TRUST_DOMAIN_MISMATCH', reason: `bundle of ${next.trustDomain} cannot replace the bundle of ${current.trustDomain}` };
  }
  if (next.sequence === undefined) {
    if (current.sequence === undefined) return { kind: 'accept' };
    return { kind: 'reject', code: 'SEQUENCE_MISSING', reason: `new bundle of ${next.trustDomain} has no spiffe_sequence; the current one has ${current.sequence}` };
  }
  if (current.sequence === undefined || next.sequence > current.sequence) return { kind: 'accept' };
  if (next.sequence < current.sequence) {
    return { kind: 'reject', code: 'NOT_NEWER', reason: `bundle of ${next.trustDomain} has sequence ${next.sequence}, older than the current ${current.sequence}` };
  }
  if (sameBundleContent(current, next)) return { kind: 'reject', code: 'UNCHANGED', reason: `bundle of ${next.trustDomain} is unchanged (sequence ${next.sequence})` };
  return { kind: 'reject', code: 'SAME_SEQUENCE_DIFFERENT_CONTENT', reason: `bundle of ${next.trustDomain} changed without a new spiffe_sequence (${next.sequence})` };
}
