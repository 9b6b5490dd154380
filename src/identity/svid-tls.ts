// Glue between node:tls and SVID verification. OpenSSL's own chain check is
// switched off (rejectUnauthorized: false) because it would trust any root in a
// shared pool; instead the peer's presented chain is verified the SPIFFE way,
// against the bundle of the peer's own trust domain, right after the handshake.
import type { TLSSocket, SecureContextOptions } from 'node:tls';
import { verifyX509SvidChain, type BundleSource, type SvidVerification } from './verify-svid.js';
import { peerCertificateChain } from './tls-peer.js';
import type { SpiffeId } from './spiffe-id.js';

export { peerCertificateChain } from './tls-peer.js';

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
