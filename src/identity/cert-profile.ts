// The X.509 facts SVID verification decides on, read once per certificate from
// its DER by cert-der.ts: SAN URIs, basic constraints, key usage, EKU, validity,
// and the critical extensions we do not process (RFC 5280 6.1.3: path invalid).
import type { X509Certificate } from 'node:crypto';
import { parseGeneralNames } from './der.js';
import { decodeBasicConstraints, decodeExtKeyUsage, decodeKeyUsage, readCertDer } from './cert-der.js';

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
  const parsed = readCertDer(cert.raw);
  if (!parsed) return { ok: false, reason: 'certificate cannot be decoded (not an RFC 5280 certificate)' };
  const seen = new Set<string>();
  for (const e of parsed.extensions) {
    if (seen.has(e.oid)) return { ok: false, reason: `extension ${e.oid} appears more than once` };
    seen.add(e.oid);
  }
  const find = (oid: string) => parsed.extensions.find((e) => e.oid === oid);
  const undecodable = (what: string): ProfileResult => ({ ok: false, reason: `certificate extensions cannot be decoded (${what} is malformed)` });
  const san = find(OID.subjectAltName);
  const names = san ? parseGeneralNames(san.value) : { uris: [], dnsNames: [], others: 0 };
  if (!names) return { ok: false, reason: 'subject alternative name extension is not well-formed' };
  const bcExt = find(OID.basicConstraints);
  const bc = bcExt && decodeBasicConstraints(bcExt.value);
  if (bcExt && !bc) return undecodable('basic constraints');
  const kuExt = find(OID.keyUsage);
  const kuFlags = kuExt && decodeKeyUsage(kuExt.value);
  if (kuExt && kuFlags === undefined) return undecodable('key usage');
  const ekuExt = find(OID.extKeyUsage);
  const eku = ekuExt && decodeExtKeyUsage(ekuExt.value);
  if (ekuExt && !eku) return undecodable('extended key usage');
  return {
    ok: true,
    profile: {
      node: cert,
      subjectEmpty: parsed.subjectEmpty,
      uris: names.uris,
      dnsNames: names.dnsNames,
      sanCritical: san?.critical,
      basicConstraints: bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined,
      keyUsage: kuExt && kuFlags !== undefined ? { flags: kuFlags, critical: kuExt.critical } : undefined,
      extKeyUsage: eku,
      notBeforeMs: parsed.notBeforeMs,
      notAfterMs: parsed.notAfterMs,
      unprocessedCritical: parsed.extensions.filter((e) => e.critical && !PROCESSED.has(e.oid)).map((e) => e.oid),
    },
  };
}

/** KeyUsage bits as cert-der.ts decodes them (bit n of the BIT STRING is 1 << n). */
export const KU = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

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
