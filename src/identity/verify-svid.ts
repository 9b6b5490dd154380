// Verifies an X.509-SVID chain per the X509-SVID standard (spiffe/spiffe
// standards/X509-SVID.md): leaf rules (5.2), signing-certificate rules (3.2,
// 4.1, 4.3) and RFC 5280 path validation against the bundle of the leaf's OWN
// trust domain only — never a pool of every trusted root, so a CA of region B
// cannot vouch for an identity of region A.
//
// Decision (docs/security.md): the EKU extension is optional (the spec says
// leaves SHOULD carry it), but when present it MUST list both serverAuth and
// clientAuth — Entente's mTLS uses every SVID as client and server.
import { X509Certificate } from 'node:crypto';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';
import { KU, OID, profileCertificate, type CertProfile } from './cert-profile.js';
import { splitPemCertificates } from './pem.js';

export type SvidVerification =
  | {
      kind: 'valid';
      spiffeId: SpiffeId;
      /** The leaf's notAfter. */
      notAfter: Date;
      /** Earliest notAfter along the verified path: when the peer must be re-verified at the latest. */
      pathNotAfter: Date;
    }
  | { kind: 'invalid'; code: SvidRejection; reason: string };

export type SvidRejection =
  | 'NO_CERTIFICATE'
  | 'MALFORMED_CERTIFICATE'
  | 'BAD_URI_SAN'
  | 'BAD_SPIFFE_ID'
  | 'LEAF_WITHOUT_PATH'
  | 'LEAF_IS_CA'
  | 'BAD_KEY_USAGE'
  | 'BAD_EXTENDED_KEY_USAGE'
  | 'UNSUPPORTED_CRITICAL_EXTENSION'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'UNKNOWN_TRUST_DOMAIN'
  | 'TRUST_DOMAIN_REVOKED'
  | 'BAD_SIGNING_CERTIFICATE'
  | 'PATH_LENGTH_EXCEEDED'
  | 'UNTRUSTED_CHAIN';

/** Where the verifier finds a trust domain's authorities. */
export interface BundleSource {
  /** undefined: the trust domain is not federated; []: every key revoked (or none usable). */
  authoritiesFor(trustDomain: TrustDomain): readonly X509Certificate[] | undefined;
}

type Invalid = { kind: 'invalid'; code: SvidRejection; reason: string };
const invalid = (code: SvidRejection, reason: string): Invalid => ({ kind: 'invalid', code, reason });

/** Longest chain of intermediates we try to build; real meshes use 0-2. */
const MAX_INTERMEDIATES = 8;

function validityProblem(p: CertProfile, nowMs: number, what: string): Invalid | undefined {
  if (nowMs < p.notBeforeMs) return invalid('NOT_YET_VALID', `${what} is not valid before ${new Date(p.notBeforeMs).toISOString()}`);
  if (nowMs > p.notAfterMs) return invalid('EXPIRED', `${what} expired at ${new Date(p.notAfterMs).toISOString()}`);
  return undefined;
}

function criticalProblem(p: CertProfile, what: string): Invalid | undefined {
  const oid = p.unprocessedCritical[0];
  if (oid === undefined) return undefined;
  const why = oid === OID.nameConstraints ? ' (name constraints are not processed; X509-SVID 4.2 lets validators refuse them)' : '';
  return invalid('UNSUPPORTED_CRITICAL_EXTENSION', `${what} has critical extension ${oid} that this verifier does not process${why}`);
}

/** X509-SVID 5.2 and 4.3/4.4: what makes a certificate an acceptable leaf. Returns its SPIFFE ID. */
export function checkLeafProfile(p: CertProfile): { ok: true; id: SpiffeId } | { ok: false; problem: Invalid } {
  const fail = (code: SvidRejection, reason: string) => ({ ok: false as const, problem: invalid(code, reason) });
  if (p.uris.length !== 1) return fail('BAD_URI_SAN', `leaf has ${p.uris.length} URI SANs; an X.509-SVID has exactly one`);
  const id = SpiffeId.check(p.uris[0]!);
  if (!id.ok) return fail('BAD_SPIFFE_ID', `leaf URI SAN is not a SPIFFE ID: ${id.reason}`);
  if (id.value.isTrustDomainId) return fail('LEAF_WITHOUT_PATH', `leaf SPIFFE ID ${id.value} has no path; only signing certificates name a bare trust domain`);
  if (p.subjectEmpty && p.sanCritical !== true) return fail('BAD_URI_SAN', 'leaf has an empty subject, so its SAN extension must be critical (RFC 5280 4.1.2.6)');
  if (p.basicConstraints?.ca === true) return fail('LEAF_IS_CA', 'leaf certificate is a CA (basicConstraints cA=true)');
  const ku = p.keyUsage;
  if (!ku) return fail('BAD_KEY_USAGE', 'leaf has no key usage extension');
  if (!ku.critical) return fail('BAD_KEY_USAGE', 'leaf key usage extension is not critical');
  if (!(ku.flags & KU.digitalSignature)) return fail('BAD_KEY_USAGE', 'leaf key usage lacks digitalSignature');
  if (ku.flags & KU.keyCertSign) return fail('BAD_KEY_USAGE', 'leaf key usage has keyCertSign');
  if (ku.flags & KU.cRLSign) return fail('BAD_KEY_USAGE', 'leaf key usage has cRLSign');
  if (p.extKeyUsage) {
    const missing = [[OID.serverAuth, 'serverAuth'], [OID.clientAuth, 'clientAuth']].filter(([oid]) => !p.extKeyUsage!.includes(oid!)).map(([, n]) => n);
    if (missing.length > 0) return fail('BAD_EXTENDED_KEY_USAGE', `leaf extended key usage lacks ${missing.join(' and ')}; Entente needs both for mTLS`);
  }
  const crit = criticalProblem(p, 'leaf');
  if (crit) return { ok: false, problem: crit };
  return { ok: true, id: id.value };
}

/** X509-SVID 3.2/4.1/4.3: what makes a certificate an acceptable signer. */
export function signingCertProblem(p: CertProfile, what: string): Invalid | undefined {
  if (p.basicConstraints?.ca !== true) return invalid('BAD_SIGNING_CERTIFICATE', `${what} is not a CA (basicConstraints cA must be true)`);
  if (!p.keyUsage || !(p.keyUsage.flags & KU.keyCertSign)) return invalid('BAD_SIGNING_CERTIFICATE', `${what} key usage lacks keyCertSign`);
  // A signing certificate that is itself an SVID follows the SVID rules too.
  for (const uri of p.uris) {
    const id = SpiffeId.check(uri);
    if (!id.ok) continue;
    if (!id.value.isTrustDomainId) return invalid('BAD_SIGNING_CERTIFICATE', `${what} SPIFFE ID ${id.value} has a path; a signing certificate's must not`);
    if (!p.keyUsage.critical) return invalid('BAD_SIGNING_CERTIFICATE', `${what} is an SVID whose key usage extension is not critical`);
  }
  return criticalProblem(p, what);
}

function issuedBy(child: CertProfile, parent: CertProfile): boolean {
  try {
    // Name chaining plus signature; not checkIssued, which also refuses issuers
    // lacking keyCertSign — we want to report that rule by name instead.
    return child.node.issuer === parent.node.subject && child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}

/**
 * `chain` is leaf first, then the intermediates the peer presented (any order).
 * Valid when the leaf obeys the leaf rules and a path of valid signing
 * certificates leads to an authority in the bundle of the leaf's trust domain.
 */
export function verifyX509SvidChain(chain: readonly X509Certificate[], bundles: BundleSource, nowMs: number): SvidVerification {
  // Verification runs on certificates a peer controls: a malformed extension
  // must be a refusal, never an exception that could take a process down.
  try {
    return verifyChainUnguarded(chain, bundles, nowMs);
  } catch (err) {
    return invalid('MALFORMED_CERTIFICATE', `certificate could not be parsed: ${(err as Error).message}`);
  }
}

function verifyChainUnguarded(chain: readonly X509Certificate[], bundles: BundleSource, nowMs: number): SvidVerification {
  if (chain.length === 0) return invalid('NO_CERTIFICATE', 'peer presented no certificate');
  const profiles: CertProfile[] = [];
  for (const [i, c] of chain.entries()) {
    const r = profileCertificate(c);
    if (!r.ok) return invalid('MALFORMED_CERTIFICATE', `${i === 0 ? 'leaf' : `chain certificate ${i}`}: ${r.reason}`);
    profiles.push(r.profile);
  }
  const leaf = profiles[0]!;
  const checked = checkLeafProfile(leaf);
  if (!checked.ok) return checked.problem;
  const leafValidity = validityProblem(leaf, nowMs, 'leaf');
  if (leafValidity) return leafValidity;

  const td = checked.id.trustDomain;
  const authorities = bundles.authoritiesFor(td);
  if (authorities === undefined) return invalid('UNKNOWN_TRUST_DOMAIN', `trust domain ${td} is not trusted here (no bundle)`);
  if (authorities.length === 0) return invalid('TRUST_DOMAIN_REVOKED', `the bundle of trust domain ${td} holds no usable X.509 authority: every SVID of it is untrusted`);
  const roots: CertProfile[] = [];
  for (const a of authorities) {
    const r = profileCertificate(a);
    if (r.ok) roots.push(r.profile);
  }

  // Depth-first path building. The most specific failure of a certificate that
  // did sign its child is kept, so a broken intermediate is reported as such.
  let best: Invalid | undefined;
  const intermediates = profiles.slice(1);
  const search = (current: CertProfile, below: number, used: ReadonlySet<number>, earliest: number): number | undefined => {
    for (const root of roots) {
      if (!issuedBy(current, root)) continue;
      const problem =
        signingCertProblem(root, 'trust bundle authority') ??
        validityProblem(root, nowMs, 'trust bundle authority') ??
        pathLenProblem(root, below, 'trust bundle authority');
      if (!problem) return Math.min(earliest, root.notAfterMs);
      best ??= problem;
    }
    if (below >= MAX_INTERMEDIATES) return undefined;
    for (const [i, next] of intermediates.entries()) {
      if (used.has(i) || !issuedBy(current, next)) continue;
      const what = `intermediate ${next.node.subject.replace(/\n/g, ', ')}`;
      const problem = signingCertProblem(next, what) ?? validityProblem(next, nowMs, what) ?? pathLenProblem(next, below, what);
      if (problem) {
        best ??= problem;
        continue;
      }
      const found = search(next, below + 1, new Set([...used, i]), Math.min(earliest, next.notAfterMs));
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const pathEnd = search(leaf, 0, new Set(), leaf.notAfterMs);
  if (pathEnd === undefined) return best ?? invalid('UNTRUSTED_CHAIN', `chain does not lead to an authority of trust domain ${td}`);
  return { kind: 'valid', spiffeId: checked.id, notAfter: new Date(leaf.notAfterMs), pathNotAfter: new Date(pathEnd) };
}

function pathLenProblem(p: CertProfile, intermediatesBelow: number, what: string): Invalid | undefined {
  const max = p.basicConstraints?.pathLength;
  if (max === undefined || intermediatesBelow <= max) return undefined;
  return invalid('PATH_LENGTH_EXCEEDED', `${what} allows ${max} intermediate(s) below it, the path has ${intermediatesBelow}`);
}

/** Convenience for PEM input (CLI, files): leaf first. */
export function verifyX509SvidPem(chainPem: string, bundles: BundleSource, nowMs: number): SvidVerification {
  let chain: X509Certificate[];
  try {
    chain = splitPemCertificates(chainPem).map((p) => new X509Certificate(p));
  } catch (err) {
    return invalid('MALFORMED_CERTIFICATE', `PEM chain cannot be read (${(err as Error).message})`);
  }
  return verifyX509SvidChain(chain, bundles, nowMs);
}

/** A BundleSource over fixed authorities per trust domain (tests, CLI). */
export function staticBundleSource(map: ReadonlyMap<TrustDomain, readonly X509Certificate[]>): BundleSource {
  return { authoritiesFor: (td) => map.get(td) };
}
