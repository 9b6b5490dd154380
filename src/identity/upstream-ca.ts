// Running the region CA as an intermediate of the operator's own PKI: checks
// the given certificate, key and chain once at start-up, so a wrong file fails
// loudly then instead of producing SVIDs nobody can verify.
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { EntenteError } from '../core/errors.js';
import { importKeyPairPem, publicKeyToPem, type KeyPair } from './keys.js';
import { profileCertificate } from './cert-profile.js';
import { signingCertProblem } from './verify-svid.js';
import { splitPemCertificates } from './pem.js';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';

export interface UpstreamCaFiles {
  /** PEM: the intermediate certificate this region signs with. */
  readonly cert: string;
  /** PEM: its PKCS#8 private key (ECDSA P-256). */
  readonly key: string;
  /** PEM: the issuers above `cert`, nearest first; the last one is the trust anchor published in the bundle. */
  readonly chain: string;
}

export interface UpstreamCa {
  readonly keys: KeyPair;
  readonly certPem: string;
  /** Intermediates to send after each leaf: our certificate, then the chain without its anchor. */
  readonly intermediatesPem: readonly string[];
  /** The anchor(s) the bundle publishes. */
  readonly anchorsPem: readonly string[];
  readonly notAfterMs: number;
}

function bad(msg: string, hint: string, cause?: unknown): never {
  throw new EntenteError('BAD_UPSTREAM_CA', msg, { hint, cause });
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    return bad(`cannot read the upstream CA ${what} ${path}`, 'check the path in the controller configuration', err);
  }
}

/** Loads and validates the operator-issued intermediate; `nowMs` decides validity. */
export async function loadUpstreamCa(files: UpstreamCaFiles, trustDomain: TrustDomain, nowMs: number): Promise<UpstreamCa> {
  const [certText, keyText, chainText] = await Promise.all([readPem(files.cert, 'certificate', ), readPem(files.key, 'key'), readPem(files.chain, 'chain')]);
  const certs = splitPemCertificates(certText);
  if (certs.length !== 1) bad(`${files.cert} holds ${certs.length} certificates, expected exactly one`, 'put the issuers in the chain file');
  const certPem = certs[0]!;
  const chain = splitPemCertificates(chainText);
  if (chain.length === 0) bad(`${files.chain} holds no certificate`, 'the chain must end with the root that peers trust');
  const keys = await importKeyPairPem(keyText).catch((err: unknown) => bad(`${files.key} is not a PKCS#8 ECDSA P-256 key`, 'convert with: openssl pkcs8 -topk8 -nocrypt', err));

  const cert = new X509Certificate(certPem);
  const profile = profileCertificate(cert);
  if (!profile.ok) bad(`${files.cert}: ${profile.reason}`, 'issue a standard X.509 CA certificate');
  const signing = signingCertProblem(profile.profile, 'the upstream certificate');
  if (signing) bad(signing.reason, 'the certificate needs basicConstraints cA=true and keyUsage keyCertSign (critical)');
  // The SAN, if any, must be this trust domain's own ID (X509-SVID 3.2: no path).
  for (const uri of profile.profile.uris) {
    if (uri !== SpiffeId.forTrustDomain(trustDomain).toString()) {
      bad(`the upstream certificate carries URI SAN ${uri}; expected none or spiffe://${trustDomain}`, 'issue the intermediate for this region\'s trust domain');
    }
  }
  if (nowMs < profile.profile.notBeforeMs || nowMs > profile.profile.notAfterMs) bad(`the upstream certificate is not valid now (${cert.validFrom} - ${cert.validTo})`, 'renew the intermediate');
  if ((await publicKeyToPem(keys.publicKey)) !== cert.publicKey.export({ type: 'spki', format: 'pem' }).toString()) {
    bad(`${files.key} is not the key of ${files.cert}`, 'pair the certificate with the key it was issued for');
  }
  // Walk the chain: each certificate signed by the next, every one a valid CA.
  let child = cert;
  for (const [i, pem] of chain.entries()) {
    const parent = new X509Certificate(pem);
    const p = profileCertificate(parent);
    if (!p.ok) bad(`chain certificate ${i + 1}: ${p.reason}`, 'the chain must hold X.509 CA certificates');
    const problem = signingCertProblem(p.profile, `chain certificate ${i + 1} (${parent.subject.replace(/\n/g, ', ')})`);
    if (problem) bad(problem.reason, 'every issuer in the chain must be a CA with keyCertSign');
    if (nowMs < p.profile.notBeforeMs || nowMs > p.profile.notAfterMs) bad(`chain certificate ${i + 1} is not valid now`, 'renew the chain');
    if (child.issuer !== parent.subject || !child.verify(parent.publicKey)) {
      bad(`chain certificate ${i + 1} did not sign ${i === 0 ? 'the upstream certificate' : `chain certificate ${i}`}`, 'list the issuers nearest first, ending with the root');
    }
    child = parent;
  }
  return {
    keys,
    certPem,
    intermediatesPem: [certPem, ...chain.slice(0, -1)],
    anchorsPem: [chain.at(-1)!],
    notAfterMs: profile.profile.notAfterMs,
  };
}
