// Reads the certificate chain a TLS peer presented, leaf first, so that it can
// be checked with verifyX509SvidChain against the right trust domain's bundle.
// The one place that walks Node's linked peer certificates.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket, DetailedPeerCertificate, PeerCertificate } from 'node:tls';

/** A peer's chain, leaf first, from Node's detailed peer certificate (as OpenSSL linked it). */
export function chainFromPeerCertificate(cert: PeerCertificate | DetailedPeerCertificate | undefined): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c = cert as DetailedPeerCertificate | undefined;
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    if (!c.issuerCertificate || c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  return out;
}

export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  return chainFromPeerCertificate(socket.getPeerCertificate(true));
}
