// cert-der.ts reads what the agent used to read with @peculiar/x509 (the
// controller still uses the library): on every kind of certificate the SVID
// rules decide on, both must see the same facts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x509 } from '../../src/identity/x509-lib.js';
import { decodeBasicConstraints, decodeExtKeyUsage, decodeKeyUsage, readCertDer } from '../../src/identity/cert-der.js';
import { craft, craftIntermediate, craftLeaf, craftRoot, EKU, HOUR, KU, nameConstraintsValue, otherNameItem } from './craft-cert.js';

const ID = 'spiffe://a.test/ns/shop/sa/web';

test('cert-der.ts and @peculiar/x509 read the same facts', async () => {
  const root = await craftRoot('a.test');
  const inter = await craftIntermediate('a.test', root, { pathLength: 0 });
  const certs = [
    root,
    inter,
    await craftLeaf(ID, root),
    await craftLeaf(ID, inter, { dns: ['web.shop'], rawSanItems: [otherNameItem()] }),
    await craftLeaf(ID, root, { subject: '', sanCritical: true }),
    await craftLeaf(ID, root, { eku: undefined, keyUsage: undefined }),
    await craftLeaf(ID, root, { keyUsage: KU.digitalSignature | KU.keyAgreement | KU.decipherOnly, keyUsageCritical: false }),
    await craftLeaf(ID, root, { eku: [EKU.codeSigning, EKU.serverAuth], ca: false }),
    await craftLeaf(ID, root, { notBefore: new Date(Date.UTC(2049, 11, 31)), notAfter: new Date(Date.UTC(2050, 0, 2)) }),
    await craftLeaf(ID, root, { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) }),
    await craft({ subject: 'O=Test', ca: true, pathLength: 300, extra: [new x509.Extension('2.5.29.30', true, nameConstraintsValue('a.test'))] }),
  ];
  for (const c of certs) {
    const lib = new x509.X509Certificate(c.node.raw);
    const ours = readCertDer(c.node.raw);
    assert.ok(ours, `cert-der.ts decodes ${c.node.subject || '(empty subject)'}`);
    assert.equal(ours.notBeforeMs, lib.notBefore.getTime());
    assert.equal(ours.notAfterMs, lib.notAfter.getTime());
    assert.equal(ours.subjectEmpty, lib.subjectName.toJSON().length === 0);
    assert.deepEqual(
      ours.extensions.map((e) => [e.oid, e.critical, Buffer.from(e.value).toString('hex')]),
      [...lib.extensions].map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
    );
    const bc = lib.getExtension(x509.BasicConstraintsExtension);
    const ku = lib.getExtension(x509.KeyUsagesExtension);
    const eku = lib.getExtension(x509.ExtendedKeyUsageExtension);
    const ext = (oid: string) => ours.extensions.find((e) => e.oid === oid)?.value;
    const ourBc = ext('2.5.29.19');
    const ourKu = ext('2.5.29.15');
    const ourEku = ext('2.5.29.37');
    assert.deepEqual(ourBc && decodeBasicConstraints(ourBc), bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined);
    assert.equal(ourKu && decodeKeyUsage(ourKu), ku?.usages);
    assert.deepEqual(ourEku && decodeExtKeyUsage(ourEku), eku ? [...eku.usages].map(String) : undefined);
  }
});
