// Trust bundles: the X.509 authorities of one trust domain, and their SPIFFE
// bundle form (a JWK Set with "use": "x509-svid", spiffe/spiffe
// standards/SPIFFE_Trust_Domain_and_Bundle.md).
import { X509Certificate, createPublicKey } from 'node:crypto';
import { EntenteError } from '../core/errors.js';
import { derToPem } from './pem.js';
import { parseTrustDomain, type TrustDomain } from './spiffe-id.js';

export interface TrustBundle {
  readonly trustDomain: TrustDomain;
  /** PEM certificates of the trust domain's signing authorities. */
  readonly x509Authorities: readonly string[];
  /** Grows with every change (spiffe_sequence). */
  readonly sequence: number;
  /** Seconds; how often consumers should poll for a new bundle. */
  readonly refreshHintSeconds: number;
}

interface Jwk {
  kty: string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
  x5c?: string[];
  [k: string]: unknown;
}

export interface SpiffeBundleDocument {
  keys: Jwk[];
  spiffe_sequence?: number;
  spiffe_refresh_hint?: number;
}

export function bundleToDocument(b: TrustBundle): SpiffeBundleDocument {
  return {
    keys: b.x509Authorities.map((pem) => {
      const cert = new X509Certificate(pem);
      const jwk = cert.publicKey.export({ format: 'jwk' }) as Jwk;
      return { ...jwk, use: 'x509-svid', x5c: [cert.raw.toString('base64')] };
    }),
    spiffe_sequence: b.sequence,
    spiffe_refresh_hint: b.refreshHintSeconds,
  };
}

/** Parses a SPIFFE bundle document for `trustDomain`; keys of other uses are skipped. */
export function bundleFromDocument(doc: unknown, trustDomain: string): TrustBundle {
  const td = parseTrustDomain(trustDomain);
  const fail = (msg: string): never => {
    throw new EntenteError('BAD_BUNDLE', `bundle of ${td}: ${msg}`, { hint: 'expected a SPIFFE bundle (JWK Set with "keys")' });
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d.keys)) fail('"keys" is missing or not an array');
  const authorities: string[] = [];
  for (const [i, k] of (d.keys as unknown[]).entries()) {
    if (typeof k !== 'object' || k === null) fail(`keys[${i}] is not an object`);
    const jwk = k as Jwk;
    if (jwk.use !== 'x509-svid') continue;
    if (!Array.isArray(jwk.x5c) || jwk.x5c.length !== 1 || typeof jwk.x5c[0] !== 'string') {
      fail(`keys[${i}].x5c must hold exactly one certificate`);
    }
    const der = Buffer.from(jwk.x5c![0]!, 'base64');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (err) {
      return fail(`keys[${i}].x5c[0] is not a DER certificate (${(err as Error).message})`);
    }
    const certJwk = cert.publicKey.export({ format: 'jwk' });
    const keyMatches = createPublicKey({ key: jwk as never, format: 'jwk' }).equals(createPublicKey({ key: certJwk, format: 'jwk' }));
    if (!keyMatches) fail(`keys[${i}]: the JWK key does not match the certificate in x5c`);
    authorities.push(derToPem(der, 'CERTIFICATE'));
  }
  const seq = d.spiffe_sequence;
  const hint = d.spiffe_refresh_hint;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)) fail('spiffe_sequence must be a non-negative integer');
  if (hint !== undefined && (typeof hint !== 'number' || !Number.isSafeInteger(hint) || hint < 0)) fail('spiffe_refresh_hint must be a non-negative integer');
  return { trustDomain: td, x509Authorities: authorities, sequence: (seq as number | undefined) ?? 0, refreshHintSeconds: (hint as number | undefined) ?? 300 };
}
