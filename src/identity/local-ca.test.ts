import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { LocalCa } from './local-ca.js';
import { createCsrPem, generateKeyPair } from './keys.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { verifyX509SvidChain } from './verify-svid.js';
import { bundleToDocument, bundleToJson, parseBundleJson } from './trust-bundle.js';

test('CA is created once, kept 0600, and signs SVIDs that verify against its own bundle only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-ca-'));
  try {
    const eu = parseTrustDomain('eu.test');
    const ca = await LocalCa.loadOrCreate(join(dir, 'eu'), eu);
    assert.equal((await stat(join(dir, 'eu', 'ca.key'))).mode & 0o777, 0o600);
    const again = await LocalCa.loadOrCreate(join(dir, 'eu'), eu);
    assert.equal(again.caCertPem, ca.caCertPem, 'reloads the same CA');

    const keys = await generateKeyPair();
    const id = SpiffeId.forWorkload(eu, 'shop', 'frontend');
    const svid = await ca.issueFromCsr(await createCsrPem(keys, id.toString()), id, 3_600_000);
    const leaf = new X509Certificate(svid.certPem);
    assert.equal(leaf.ca, false);
    assert.equal(leaf.subjectAltName, `URI:${id}`);

    const euRoots = [new X509Certificate(ca.caCertPem)];
    const ok = verifyX509SvidChain([leaf], { authoritiesFor: (td) => (td === eu ? euRoots : undefined) }, Date.now());
    assert.equal(ok.kind, 'valid');

    // A CA of another trust domain must not vouch for eu identities.
    const us = await LocalCa.loadOrCreate(join(dir, 'us'), parseTrustDomain('us.test'));
    const usRoots = [new X509Certificate(us.caCertPem)];
    const cross = verifyX509SvidChain([leaf], { authoritiesFor: (td) => (td === eu ? usRoots : undefined) }, Date.now());
    assert.equal(cross.kind, 'invalid');
    assert.equal(cross.kind === 'invalid' && cross.code, 'UNTRUSTED_CHAIN');
    await assert.rejects(us.issue(id, keys.publicKey, 1000), /cannot sign/);

    // Interop: openssl accepts the SVID against the CA.
    await writeFile(join(dir, 'leaf.pem'), svid.certPem);
    await writeFile(join(dir, 'ca.pem'), ca.caCertPem);
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    assert.match(out, /OK/);

    // Bundle round trip through the SPIFFE JWKS form.
    const doc = bundleToDocument(ca.bundle());
    assert.equal(doc.keys[0]?.use, 'x509-svid');
    assert.deepEqual(parseBundleJson(bundleToJson(ca.bundle()), 'eu.test').x509Authorities, [ca.caCertPem]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
