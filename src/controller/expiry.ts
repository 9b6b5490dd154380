// When the region's certificates and its peers' bundles run out, for
// /v1/status, `entente status` and `entente check`. Parsed certificates are
// memoized by PEM: the status is read every few seconds by dashboards.
import { X509Certificate } from 'node:crypto';

export interface ExpiryItem {
  readonly kind: 'ca' | 'serving' | 'bundle';
  readonly subject: string;
  readonly notAfter: string;
  /** Negative once expired. */
  readonly expiresInMs: number;
  /** notAfter − notBefore: a short-lived certificate is judged against its own lifetime. */
  readonly lifetimeMs: number;
}

interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

const validityByPem = new Map<string, Validity | null>();

function validityOf(pem: string): Validity | undefined {
  let v = validityByPem.get(pem);
  if (v === undefined) {
    try {
      const cert = new X509Certificate(pem);
      v = { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
    } catch {
      v = null;
    }
    if (validityByPem.size > 1000) validityByPem.clear();
    validityByPem.set(pem, v);
  }
  return v ?? undefined;
}

function earliest(pems: readonly string[]): Validity | undefined {
  let first: Validity | undefined;
  for (const v of pems.map(validityOf)) if (v && (first === undefined || v.notAfter < first.notAfter)) first = v;
  return first;
}

export function expiryReport(
  inputs: { region: string; caCerts: readonly string[]; servingCert: string; peerBundles: readonly { region: string; authorities: readonly string[] }[] },
  now = Date.now(),
): ExpiryItem[] {
  const out: ExpiryItem[] = [];
  const add = (kind: ExpiryItem['kind'], subject: string, v: Validity | undefined): void => {
    if (v !== undefined) out.push({ kind, subject, notAfter: new Date(v.notAfter).toISOString(), expiresInMs: v.notAfter - now, lifetimeMs: v.notAfter - v.notBefore });
  };
  add('ca', `${inputs.region} CA`, earliest(inputs.caCerts));
  // The serving chain's leaf comes first.
  add('serving', 'controller serving certificate', validityOf(inputs.servingCert.slice(0, inputs.servingCert.indexOf('-----END CERTIFICATE-----') + 25)));
  for (const p of inputs.peerBundles) add('bundle', `bundle of ${p.region}`, earliest(p.authorities));
  return out;
}
