// Glue between node:tls and SVID verification. OpenSSL's own chain check is
// switched off (rejectUnauthorized: false) because it would trust any root in a
// shared pool; instead the peer's presented chain is verified the SPIFFE way,
// against the bundle of the peer's own trust domain, right after the handshake.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { verifyX509SvidChain, type BundleSource, type SvidVerification } from './verify-svid.js';
import type { SpiffeId } from './spiffe-id.js';

/** The chain the peer presented, leaf first, as Node linked it after the handshake. */
export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let cur = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cur && cur.raw && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    out.push(new X509Certificate(cur.raw));
    if (!cur.issuerCertificate || cur.issuerCertificate === cur) break;
    cur = cur.issuerCertificate;
  }
  return out;
}

/** Verifies the peer of an established TLS socket; optionally it must be `expected`. */
export function verifyTlsPeer(socket: TLSSocket, bundles: BundleSource, nowMs: number, expected?: SpiffeId): SvidVerification {
  const r = verifyX509SvidChain(peerCertificateChain(socket), bundles, nowMs);
  if (r.kind === 'valid' && expected && !r.spiffeId.equals(expected)) {
    return { kind: 'invalid', code: 'UNTRUSTED_CHAIN', reason: `peer is ${r.spiffeId}, expected ${expected}` };
  }
  return r;
}

/** TLS options for presenting an SVID; verification happens in verifyTlsPeer. */
export function svidTlsOptions(chainPem: string, keyPem: string): SecureContextOptions & { rejectUnauthorized: false; minVersion: 'TLSv1.2' } {
  return { cert: chainPem, key: keyPem, rejectUnauthorized: false, minVersion: 'TLSv1.2' };
}
