// A peer controls the certificates it presents: a malformed extension must be
// refused as a value, never thrown out of verifyX509SvidChain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { LocalCa } from './local-ca.js';
import { generateKeyPair } from './keys.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { verifyX509SvidChain } from './verify-svid.js';

test('an SVID whose key usage BIT STRING is malformed is refused, not thrown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-malformed-'));
  try {
    const td = parseTrustDomain('malformed.test');
    const ca = await LocalCa.loadOrCreate(dir, td);
    const keys = await generateKeyPair();
    const svid = await ca.issue(SpiffeId.forWorkload(td, 'shop', 'web'), keys.publicKey, 600_000);
    const der = Buffer.from(new X509Certificate(svid.certPem).raw);
    const ku = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]));
    const bitString = der.indexOf(Buffer.from([0x03, 0x02]), ku);
    assert.ok(ku > 0 && bitString > ku, 'the leaf carries a key usage BIT STRING');
    der[bitString + 1] = 0x05; // claims more bytes than its OCTET STRING holds
    const roots = [new X509Certificate(ca.caCertPem)];
    const r = verifyX509SvidChain([new X509Certificate(der)], { authoritiesFor: () => roots }, Date.now());
    assert.equal(r.kind, 'invalid');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
