// Verifies an X.509-SVID chain the SPIFFE way: the leaf's own trust domain
// picks the bundle it must chain to — never a pool of every trusted root, so a
// CA of region B cannot vouch for an identity of region A.
import { X509Certificate } from 'node:crypto';
import { x509 } from './x509-lib.js';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';

export type SvidVerification =
  | { kind: 'valid'; spiffeId: SpiffeId; notAfter: Date }
  | { kind: 'invalid'; code: SvidRejection; reason: string };

export type SvidRejection =
  | 'NO_CERTIFICATE'
  | 'BAD_URI_SAN'
  | 'BAD_SPIFFE_ID'
  | 'LEAF_IS_CA'
  | 'BAD_KEY_USAGE'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'UNKNOWN_TRUST_DOMAIN'
  | 'TRUST_DOMAIN_REVOKED'
  | 'UNTRUSTED_CHAIN';

/** Where the verifier finds a trust domain's authorities. */
export interface BundleSource {
  /** undefined: the trust domain is not federated; []: every key revoked. */
  authoritiesFor(trustDomain: TrustDomain): readonly X509Certificate[] | undefined;
}

const invalid = (code: SvidRejection, reason: string): SvidVerification => ({ kind: 'invalid', code, reason });

function uriSans(cert: X509Certificate): string[] {
  // Node prints SANs as "URI:spiffe://..., DNS:..."; a comma cannot occur in a valid SPIFFE ID.
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

function validityProblem(cert: X509Certificate, nowMs: number, what: string): SvidVerification | undefined {
  if (nowMs < new Date(cert.validFrom).getTime()) return invalid('NOT_YET_VALID', `${what} is not valid before ${cert.validFrom}`);
  if (nowMs > new Date(cert.validTo).getTime()) return invalid('EXPIRED', `${what} expired at ${cert.validTo}`);
  return undefined;
}

function leafKeyUsageProblem(leaf: X509Certificate): string | undefined {
  const parsed = new x509.X509Certificate(leaf.raw);
  const ku = parsed.getExtension(x509.KeyUsagesExtension);
  if (!ku) return 'leaf has no key usage extension';
  if (!ku.critical) return 'leaf key usage extension is not critical';
  if (!(ku.usages & x509.KeyUsageFlags.digitalSignature)) return 'leaf key usage lacks digitalSignature';
  if (ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) return 'leaf key usage has keyCertSign or cRLSign';
  return undefined;
}

/**
 * `chain` is leaf first, then intermediates as presented by the peer.
 * Checks the leaf's SPIFFE rules, validity, and a signature path to an
 * authority of the leaf's own trust domain.
 */
export function verifyX509SvidChain(chain: readonly X509Certificate[], bundles: BundleSource, nowMs: number): SvidVerification {
  const leaf = chain[0];
  if (!leaf) return invalid('NO_CERTIFICATE', 'peer presented no certificate');
  const uris = uriSans(leaf);
  if (uris.length !== 1) return invalid('BAD_URI_SAN', `leaf has ${uris.length} URI SANs; an X.509-SVID has exactly one`);
  const id = SpiffeId.check(uris[0]!);
  if (!id.ok) return invalid('BAD_SPIFFE_ID', `leaf URI SAN is not a SPIFFE ID: ${id.reason}`);
  if (leaf.ca) return invalid('LEAF_IS_CA', 'leaf certificate is a CA (basicConstraints cA=true)');
  const kuProblem = leafKeyUsageProblem(leaf);
  if (kuProblem) return invalid('BAD_KEY_USAGE', kuProblem);
  const leafValidity = validityProblem(leaf, nowMs, 'leaf');
  if (leafValidity) return leafValidity;

  const td = id.value.trustDomain;
  const authorities = bundles.authoritiesFor(td);
  if (authorities === undefined) return invalid('UNKNOWN_TRUST_DOMAIN', `trust domain ${td} is not trusted here`);
  if (authorities.length === 0) return invalid('TRUST_DOMAIN_REVOKED', `every key of trust domain ${td} is revoked`);

  // Walk up: each certificate must be signed by the next intermediate, or by an authority.
  let current = leaf;
  for (let depth = 0; depth <= chain.length; depth++) {
    const root = authorities.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
    if (root) {
      const rootValidity = validityProblem(root, nowMs, 'trust bundle authority');
      return rootValidity ?? { kind: 'valid', spiffeId: id.value, notAfter: new Date(leaf.validTo) };
    }
    const next = chain[depth + 1];
    if (!next || !next.ca || !current.checkIssued(next) || !current.verify(next.publicKey)) break;
    const v = validityProblem(next, nowMs, `intermediate ${depth + 1}`);
    if (v) return v;
    current = next;
  }
  return invalid('UNTRUSTED_CHAIN', `chain does not lead to an authority of ${td}`);
}
