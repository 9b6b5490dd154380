// What `entente identity inspect` shows: a PEM chain (each certificate's SVID
// facts and whether the leaf obeys the X509-SVID rules) or a SPIFFE bundle /
// bundle map. Pure: text in, report out; rendering is separate.
import { X509Certificate } from 'node:crypto';
import { EntenteError } from '../core/errors.js';
import { keyUsageNames, OID, profileCertificate } from './cert-profile.js';
import { splitPemCertificates } from './pem.js';
import { checkLeafProfile, signingCertProblem } from './verify-svid.js';
import { isJsonObject, parseStrictJson, type StrictJson } from './strict-json.js';
import { parseBundleDocument } from './trust-bundle.js';

export interface CertReport {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  uriSans: string[];
  dnsSans: string[];
  ca: boolean;
  keyUsage: string[] | null;
  extKeyUsage: string[] | null;
  sha256: string;
  /** The role this certificate plays and whether it obeys the X509-SVID rules for it. */
  svidCheck: { role: 'leaf' | 'signing'; ok: boolean; problem?: string };
}

export interface BundleReport {
  trustDomain: string | null;
  sequence: bigint | null;
  refreshHintSeconds: number;
  x509Authorities: CertReport[];
  jwtKeys: { keyId: string; kty: string }[];
  ignored: string[];
  warnings: string[];
}

export type InspectReport = { kind: 'chain'; certificates: CertReport[] } | { kind: 'bundle'; bundles: BundleReport[] };

const EKU_NAMES: Record<string, string> = { [OID.serverAuth]: 'serverAuth', [OID.clientAuth]: 'clientAuth' };

export function reportCertificate(pem: string, role: 'leaf' | 'signing'): CertReport {
  const c = new X509Certificate(pem);
  const p = profileCertificate(c);
  const base = {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    serial: c.serialNumber,
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    ca: c.ca,
    sha256: c.fingerprint256,
  };
  if (!p.ok) return { ...base, uriSans: [], dnsSans: [], keyUsage: null, extKeyUsage: null, svidCheck: { role, ok: false, problem: p.reason } };
  const prof = p.profile;
  const problem = role === 'leaf' ? (() => { const r = checkLeafProfile(prof); return r.ok ? undefined : `${r.problem.code}: ${r.problem.reason}`; })() : (() => { const r = signingCertProblem(prof, 'certificate'); return r ? `${r.code}: ${r.reason}` : undefined; })();
  return {
    ...base,
    uriSans: [...prof.uris],
    dnsSans: [...prof.dnsNames],
    keyUsage: prof.keyUsage ? [...keyUsageNames(prof.keyUsage.flags), ...(prof.keyUsage.critical ? ['(critical)'] : [])] : null,
    extKeyUsage: prof.extKeyUsage ? prof.extKeyUsage.map((o) => EKU_NAMES[o] ?? o) : null,
    svidCheck: problem ? { role, ok: false, problem } : { role, ok: true },
  };
}

function bundleReport(doc: StrictJson, td: string | null): BundleReport {
  // A bundle does not name its trust domain; parse under a placeholder when none is known.
  const r = parseBundleDocument(doc, td ?? 'unnamed.invalid');
  return {
    trustDomain: td,
    sequence: r.bundle.sequence ?? null,
    refreshHintSeconds: r.bundle.refreshHintSeconds,
    x509Authorities: r.bundle.x509Authorities.map((p) => reportCertificate(p, 'signing')),
    jwtKeys: (r.bundle.jwtAuthorities ?? []).map((j) => ({ keyId: j.keyId, kty: String(j.jwk.kty) })),
    ignored: [...r.ignored],
    warnings: [...r.warnings],
  };
}

/** Reads a PEM chain (leaf first) or SPIFFE bundle JSON (or a map of them by trust domain). */
export function inspectText(text: string, trustDomain?: string): InspectReport {
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const pems = splitPemCertificates(text);
    return { kind: 'chain', certificates: pems.map((p, i) => reportCertificate(p, i === 0 && !new X509Certificate(p).ca ? 'leaf' : 'signing')) };
  }
  const doc = parseStrictJson(text);
  if (!isJsonObject(doc)) throw new EntenteError('BAD_INPUT', 'input is neither PEM certificates nor a JSON object', { hint: 'give an SVID PEM chain or a SPIFFE bundle' });
  if ('keys' in doc) return { kind: 'bundle', bundles: [bundleReport(doc, trustDomain ?? null)] };
  return { kind: 'bundle', bundles: Object.entries(doc).map(([td, b]) => bundleReport(b, td)) };
}

function renderCert(c: CertReport, i: number, out: string[]): void {
  out.push(`[${i}] ${c.svidCheck.role === 'leaf' ? 'leaf' : 'signing certificate'}: ${c.subject || '(empty subject)'}`);
  out.push(`    issuer:      ${c.issuer}`);
  out.push(`    serial:      ${c.serial}`);
  out.push(`    valid:       ${c.notBefore} .. ${c.notAfter}`);
  out.push(`    SPIFFE ID:   ${c.uriSans.length ? c.uriSans.join(', ') : '(no URI SAN)'}`);
  if (c.dnsSans.length) out.push(`    DNS:         ${c.dnsSans.join(', ')}`);
  out.push(`    CA:          ${c.ca}`);
  out.push(`    key usage:   ${c.keyUsage ? c.keyUsage.join(' ') : '(none)'}`);
  out.push(`    ext. usage:  ${c.extKeyUsage ? c.extKeyUsage.join(' ') : '(none)'}`);
  out.push(`    sha256:      ${c.sha256}`);
  out.push(`    X509-SVID:   ${c.svidCheck.ok ? 'conforms' : `DOES NOT CONFORM: ${c.svidCheck.problem}`}`);
}

export function renderInspect(r: InspectReport): string {
  const out: string[] = [];
  if (r.kind === 'chain') {
    out.push(`PEM chain with ${r.certificates.length} certificate(s)`);
    r.certificates.forEach((c, i) => renderCert(c, i, out));
  } else {
    for (const b of r.bundles) {
      out.push(`SPIFFE bundle${b.trustDomain ? ` of ${b.trustDomain}` : ''}`);
      out.push(`  spiffe_sequence:     ${b.sequence ?? '(absent)'}`);
      out.push(`  spiffe_refresh_hint: ${b.refreshHintSeconds} s`);
      out.push(`  x509-svid authorities: ${b.x509Authorities.length}${b.x509Authorities.length === 0 ? ' (every X.509-SVID of this trust domain is untrusted)' : ''}`);
      b.x509Authorities.forEach((c, i) => renderCert(c, i, out));
      out.push(`  jwt-svid keys: ${b.jwtKeys.length ? b.jwtKeys.map((k) => `${k.keyId} (${k.kty})`).join(', ') : '0'}`);
      for (const x of b.ignored) out.push(`  ignored: ${x}`);
      for (const w of b.warnings) out.push(`  warning: ${w}`);
    }
  }
  return out.join('\n') + '\n';
}
