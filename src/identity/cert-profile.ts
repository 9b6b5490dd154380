// The X.509 facts SVID verification decides on, read once per certificate:
// SAN URIs, basic constraints, key usage, EKU, validity, and which critical
// extensions we do not process (RFC 5280 6.1.3: those make a path invalid).
import { X509Certificate } from 'node:crypto';
import { x509 } from './x509-lib.js';
import { parseGeneralNames } from './der.js';

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Extensions whose meaning the verifier fully applies; any other critical one fails the path. */
const PROCESSED = new Set<string>([OID.subjectKeyIdentifier, OID.keyUsage, OID.subjectAltName, OID.basicConstraints, OID.authorityKeyIdentifier, OID.extKeyUsage]);

export interface CertProfile {
  readonly node: X509Certificate;
  readonly subjectEmpty: boolean;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** undefined when there is no SAN extension. */
  readonly sanCritical: boolean | undefined;
  /** undefined when the extension is absent (cA then defaults to false). */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  readonly keyUsage: { readonly flags: number; readonly critical: boolean } | undefined;
  readonly extKeyUsage: readonly string[] | undefined;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly unprocessedCritical: readonly string[];
}

export type ProfileResult = { ok: true; profile: CertProfile } | { ok: false; reason: string };

/** Reads a certificate's profile; refuses duplicate extensions (RFC 5280 4.2) and undecodable ones. */
export function profileCertificate(cert: X509Certificate): ProfileResult {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(cert.raw);
  } catch (err) {
    return { ok: false, reason: `certificate cannot be decoded (${(err as Error).message})` };
  }
  const seen = new Set<string>();
  for (const e of parsed.extensions) {
    if (seen.has(e.type)) return { ok: false, reason: `extension ${e.type} appears more than once` };
    seen.add(e.type);
  }
  try {
    const san = parsed.extensions.find((e) => e.type === OID.subjectAltName);
    const names = san ? parseGeneralNames(new Uint8Array(san.value)) : { uris: [], dnsNames: [], others: 0 };
    if (!names) return { ok: false, reason: 'subject alternative name extension is not well-formed' };
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    const ku = parsed.getExtension(x509.KeyUsagesExtension);
    const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
    return {
      ok: true,
      profile: {
        node: cert,
        subjectEmpty: parsed.subjectName.toJSON().length === 0,
        uris: names.uris,
        dnsNames: names.dnsNames,
        sanCritical: san?.critical,
        basicConstraints: bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined,
        keyUsage: ku ? { flags: ku.usages, critical: ku.critical } : undefined,
        extKeyUsage: eku ? eku.usages.map(String) : undefined,
        notBeforeMs: parsed.notBefore.getTime(),
        notAfterMs: parsed.notAfter.getTime(),
        unprocessedCritical: parsed.extensions.filter((e) => e.critical && !PROCESSED.has(e.type)).map((e) => e.type),
      },
    };
  } catch (err) {
    return { ok: false, reason: `certificate extensions cannot be decoded (${(err as Error).message})` };
  }
}

export const KU = x509.KeyUsageFlags;

/** Human names of key usage bits, for inspect output and reasons. */
export function keyUsageNames(flags: number): string[] {
  const names: [number, string][] = [
    [KU.digitalSignature, 'digitalSignature'],
    [KU.nonRepudiation, 'nonRepudiation'],
    [KU.keyEncipherment, 'keyEncipherment'],
    [KU.dataEncipherment, 'dataEncipherment'],
    [KU.keyAgreement, 'keyAgreement'],
    [KU.keyCertSign, 'keyCertSign'],
    [KU.cRLSign, 'cRLSign'],
    [KU.encipherOnly, 'encipherOnly'],
    [KU.decipherOnly, 'decipherOnly'],
  ];
  return names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
}
