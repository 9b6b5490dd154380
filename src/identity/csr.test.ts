// The hand-written PKCS#10 request must be one the CA's X.509 library parses
// and whose proof of possession verifies, for the key it was made with only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x509 } from './x509-lib.js';
import { createCsrDer, createCsrPem } from './csr.js';
import { generateKeyPair, publicKeyToPem } from './keys.js';
import { derToPem } from './pem.js';

const ID = 'spiffe://a.test/ns/shop/sa/web';

function sanOf(csr: x509.Pkcs10CertificateRequest): unknown {
  const ext = csr.extensions.find((e) => e.type === '2.5.29.17');
  return ext ? new x509.SubjectAlternativeNameExtension(ext.rawData).names.toJSON() : undefined;
}

test('a CSR parses, verifies, and carries the subject, the key and the one URI SAN', async () => {
  const keys = await generateKeyPair();
  const csr = new x509.Pkcs10CertificateRequest(await createCsrPem(keys, ID));
  assert.equal(await csr.verify(), true);
  assert.equal(csr.subject, 'O=Entente');
  assert.equal(derToPem(csr.publicKey.rawData, 'PUBLIC KEY'), await publicKeyToPem(keys.publicKey));
  assert.deepEqual(sanOf(csr), [{ type: 'url', value: ID }]);
});

test('a CSR whose signature was made by another key does not verify', async () => {
  const [a, b] = [await generateKeyPair(), await generateKeyPair()];
  const der = await createCsrDer({ publicKey: a.publicKey, privateKey: b.privateKey }, ID);
  assert.equal(await new x509.Pkcs10CertificateRequest(der).verify(), false);
});

test('a long SAN needs multi-byte DER lengths and still parses', async () => {
  const long = `spiffe://a.test/ns/${'x'.repeat(300)}/sa/web`;
  const csr = new x509.Pkcs10CertificateRequest(await createCsrPem(await generateKeyPair(), long));
  assert.equal(await csr.verify(), true);
  assert.deepEqual(sanOf(csr), [{ type: 'url', value: long }]);
});
