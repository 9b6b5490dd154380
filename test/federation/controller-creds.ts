// A controller SVID (spiffe://<td>/controller) with its key, as PEM, for
// tests that speak the peer API themselves instead of starting a controller.
import type { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId } from '../../src/identity/spiffe-id.js';

export async function controllerCreds(ca: LocalCa, ttlMs?: number): Promise<{ key: string; cert: string }> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.fromParts(ca.trustDomain, ['controller']), keys.publicKey, ttlMs);
  return { key: await privateKeyToPem(keys.privateKey), cert: svid.chainPem };
}
