// One crafted certificate per X509-SVID rule: each breaks exactly that rule and
// must be refused by verifyX509SvidChain with the rule's code; the conformant
// baselines beside them must pass, so every case can fail.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { x509 } from '../../src/identity/x509-lib.js';
import { parseTrustDomain, type TrustDomain } from '../../src/identity/spiffe-id.js';
import { verifyX509SvidChain, verifyX509SvidPem, staticBundleSource, type BundleSource, type SvidRejection } from '../../src/identity/verify-svid.js';
import { craft, craftIntermediate, craftLeaf, craftRoot, EKU, HOUR, KU, nameConstraintsValue, otherNameItem, type Crafted } from './craft-cert.js';

const A = parseTrustDomain('a.test');
const B = parseTrustDomain('b.test');
const ID = 'spiffe://a.test/ns/shop/sa/web';

let rootA: Crafted;
let rootB: Crafted;
let interA: Crafted;
let bundles: BundleSource;

before(async () => {
  rootA = await craftRoot('a.test');
  rootB = await craftRoot('b.test');
  interA = await craftIntermediate('a.test', rootA);
  bundles = staticBundleSource(new Map<TrustDomain, X509Certificate[]>([[A, [rootA.node]], [B, [rootB.node]]]));
});

function expectInvalid(chain: Crafted[], code: SvidRejection, reasonPart?: RegExp, source: BundleSource = bundles, now = Date.now()): void {
  const r = verifyX509SvidChain(chain.map((c) => c.node), source, now);
  assert.equal(r.kind, 'invalid', `expected ${code}, got valid`);
  if (r.kind !== 'invalid') return;
  assert.equal(r.code, code, r.reason);
  if (reasonPart) assert.match(r.reason, reasonPart);
}

function expectValid(chain: Crafted[], id = ID, source: BundleSource = bundles): void {
  const r = verifyX509SvidChain(chain.map((c) => c.node), source, Date.now());
  assert.equal(r.kind, 'valid', r.kind === 'invalid' ? `${r.code}: ${r.reason}` : '');
  if (r.kind === 'valid') assert.equal(r.spiffeId.toString(), id);
}

describe('conformant baselines', () => {
  test('root -> leaf', async () => expectValid([await craftLeaf(ID, rootA)]));
  test('root -> intermediate -> leaf, and the intermediates may come in any order', async () => {
    const inter2 = await craftIntermediate('a.test', interA);
    const leaf = await craftLeaf(ID, inter2);
    expectValid([leaf, inter2, interA]);
    expectValid([leaf, interA, inter2]);
  });
  test('other SAN types (DNS, otherName) are allowed beside the one URI', async () => expectValid([await craftLeaf(ID, rootA, { dns: ['web.shop'], rawSanItems: [otherNameItem()] })]));
  test('no EKU extension is allowed (SHOULD, not MUST)', async () => expectValid([await craftLeaf(ID, rootA, { eku: undefined })]));
  test('empty subject with a critical SAN', async () => expectValid([await craftLeaf(ID, rootA, { subject: '', sanCritical: true })]));
  test('pathLenConstraint 1 allows one intermediate', async () => {
    const root = await craftRoot('a.test', { pathLength: 1 });
    const inter = await craftIntermediate('a.test', root);
    expectValid([await craftLeaf(ID, inter), inter], ID, staticBundleSource(new Map([[A, [root.node]]])));
  });
  test('PEM input', async () => {
    const leaf = await craftLeaf(ID, interA);
    assert.equal(verifyX509SvidPem(leaf.pem + interA.pem, bundles, Date.now()).kind, 'valid');
  });
});

describe('leaf rules (X509-SVID 2, 3.1, 4.1, 4.3, 4.4, 5.2)', () => {
  test('no certificate', () => assert.equal(verifyX509SvidChain([], bundles, Date.now()).kind === 'invalid' && 'ok', 'ok'));
  test('no URI SAN', async () => expectInvalid([await craftLeaf(ID, rootA, { uris: [], dns: ['x.test'] })], 'BAD_URI_SAN', /0 URI SANs/));
  test('two URI SANs', async () => expectInvalid([await craftLeaf(ID, rootA, { uris: [ID, 'spiffe://a.test/other'] })], 'BAD_URI_SAN', /2 URI SANs/));
  test('a second SAN extension (duplicate extension) cannot smuggle a URI', async () => expectInvalid([await craftLeaf(ID, rootA, { duplicateSan: true })], 'MALFORMED_CERTIFICATE', /more than once/));
  test('URI SAN is not a SPIFFE ID', async () => expectInvalid([await craftLeaf('https://a.test/x', rootA)], 'BAD_SPIFFE_ID'));
  test('URI SAN with upper-case scheme', async () => expectInvalid([await craftLeaf('SPIFFE://a.test/x', rootA)], 'BAD_SPIFFE_ID', /lower case/));
  test('SPIFFE ID without a path', async () => expectInvalid([await craftLeaf('spiffe://a.test', rootA)], 'LEAF_WITHOUT_PATH'));
  test('empty subject with a non-critical SAN', async () => expectInvalid([await craftLeaf(ID, rootA, { subject: '', sanCritical: false })], 'BAD_URI_SAN', /critical/));
  test('leaf is a CA', async () => expectInvalid([await craftLeaf(ID, rootA, { ca: true })], 'LEAF_IS_CA'));
  test('no key usage', async () => expectInvalid([await craftLeaf(ID, rootA, { keyUsage: undefined })], 'BAD_KEY_USAGE', /no key usage/));
  test('key usage not critical', async () => expectInvalid([await craftLeaf(ID, rootA, { keyUsageCritical: false })], 'BAD_KEY_USAGE', /not critical/));
  test('key usage without digitalSignature', async () => expectInvalid([await craftLeaf(ID, rootA, { keyUsage: KU.keyAgreement })], 'BAD_KEY_USAGE', /lacks digitalSignature/));
  test('key usage with keyCertSign', async () => expectInvalid([await craftLeaf(ID, rootA, { keyUsage: KU.digitalSignature | KU.keyCertSign })], 'BAD_KEY_USAGE', /keyCertSign/));
  test('key usage with cRLSign', async () => expectInvalid([await craftLeaf(ID, rootA, { keyUsage: KU.digitalSignature | KU.cRLSign })], 'BAD_KEY_USAGE', /cRLSign/));
  test('EKU with serverAuth only', async () => expectInvalid([await craftLeaf(ID, rootA, { eku: [EKU.serverAuth] })], 'BAD_EXTENDED_KEY_USAGE', /clientAuth/));
  test('EKU with clientAuth only', async () => expectInvalid([await craftLeaf(ID, rootA, { eku: [EKU.clientAuth] })], 'BAD_EXTENDED_KEY_USAGE', /serverAuth/));
  test('EKU with neither', async () => expectInvalid([await craftLeaf(ID, rootA, { eku: [EKU.codeSigning] })], 'BAD_EXTENDED_KEY_USAGE', /serverAuth and clientAuth/));
  test('unknown critical extension', async () =>
    expectInvalid([await craftLeaf(ID, rootA, { extra: [new x509.Extension('1.2.3.4.5', true, Uint8Array.from([0x05, 0x00]))] })], 'UNSUPPORTED_CRITICAL_EXTENSION', /1\.2\.3\.4\.5/));
  test('expired leaf', async () => expectInvalid([await craftLeaf(ID, rootA, { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) })], 'EXPIRED', /leaf expired/));
  test('leaf not yet valid', async () => expectInvalid([await craftLeaf(ID, rootA, { notBefore: new Date(Date.now() + HOUR), notAfter: new Date(Date.now() + 2 * HOUR) })], 'NOT_YET_VALID'));
});

describe('signing certificate rules (X509-SVID 3.2, 4.1, 4.2, 4.3)', () => {
  test('intermediate with cA=false', async () => {
    const inter = await craftIntermediate('a.test', rootA, { ca: false });
    expectInvalid([await craftLeaf(ID, inter), inter], 'BAD_SIGNING_CERTIFICATE', /not a CA/);
  });
  test('intermediate without basic constraints', async () => {
    const inter = await craftIntermediate('a.test', rootA, { ca: undefined });
    expectInvalid([await craftLeaf(ID, inter), inter], 'BAD_SIGNING_CERTIFICATE', /not a CA/);
  });
  test('intermediate without keyCertSign', async () => {
    const inter = await craftIntermediate('a.test', rootA, { keyUsage: KU.cRLSign });
    expectInvalid([await craftLeaf(ID, inter), inter], 'BAD_SIGNING_CERTIFICATE', /keyCertSign/);
  });
  test('intermediate whose SPIFFE ID has a path', async () => {
    const inter = await craftIntermediate('a.test', rootA, { uris: ['spiffe://a.test/ca'] });
    expectInvalid([await craftLeaf(ID, inter), inter], 'BAD_SIGNING_CERTIFICATE', /has a path/);
  });
  test('intermediate SVID with non-critical key usage', async () => {
    const inter = await craftIntermediate('a.test', rootA, { keyUsageCritical: false });
    expectInvalid([await craftLeaf(ID, inter), inter], 'BAD_SIGNING_CERTIFICATE', /not critical/);
  });
  test('expired intermediate', async () => {
    const inter = await craftIntermediate('a.test', rootA, { notBefore: new Date(Date.now() - 3 * HOUR), notAfter: new Date(Date.now() - HOUR) });
    expectInvalid([await craftLeaf(ID, inter), inter], 'EXPIRED', /intermediate/);
  });
  test('intermediate with critical URI name constraints (not processed, so refused)', async () => {
    const inter = await craftIntermediate('a.test', rootA, { extra: [new x509.Extension('2.5.29.30', true, nameConstraintsValue('a.test'))] });
    expectInvalid([await craftLeaf(ID, inter), inter], 'UNSUPPORTED_CRITICAL_EXTENSION', /name constraints/);
  });
  test('pathLenConstraint 0 on the root forbids an intermediate', async () => {
    const root = await craftRoot('a.test', { pathLength: 0 });
    const inter = await craftIntermediate('a.test', root);
    expectInvalid([await craftLeaf(ID, inter), inter], 'PATH_LENGTH_EXCEEDED', undefined, staticBundleSource(new Map([[A, [root.node]]])));
  });
  test('expired bundle authority', async () => {
    const root = await craftRoot('a.test', { notBefore: new Date(Date.now() - 3 * HOUR), notAfter: new Date(Date.now() - HOUR) });
    expectInvalid([await craftLeaf(ID, root)], 'EXPIRED', /trust bundle authority/, staticBundleSource(new Map([[A, [root.node]]])));
  });
  test('bundle authority that is not a CA', async () => {
    const root = await craftRoot('a.test', { ca: false });
    expectInvalid([await craftLeaf(ID, root)], 'BAD_SIGNING_CERTIFICATE', /trust bundle authority is not a CA/, staticBundleSource(new Map([[A, [root.node]]])));
  });
});

describe('trust domain binding', () => {
  test("a CA of trust domain B signing an ID of A fails even though B's root is trusted (for B)", async () => {
    expectInvalid([await craftLeaf(ID, rootB)], 'UNTRUSTED_CHAIN', /a\.test/);
    // ...and B's intermediate presented in the chain does not help either.
    const interB = await craftIntermediate('b.test', rootB);
    expectInvalid([await craftLeaf(ID, interB), interB], 'UNTRUSTED_CHAIN');
    // The same leaf verifies when it is B's ID.
    expectValid([await craftLeaf('spiffe://b.test/x', rootB)], 'spiffe://b.test/x');
  });
  test('a forged signature (same issuer name, other key) fails', async () => {
    const impostor = await craft({ subject: rootA.cert.subject, ca: true, keyUsage: KU.keyCertSign, uris: ['spiffe://a.test'] });
    expectInvalid([await craftLeaf(ID, impostor)], 'UNTRUSTED_CHAIN');
  });
  test('unknown trust domain', async () => expectInvalid([await craftLeaf('spiffe://c.test/x', rootA)], 'UNKNOWN_TRUST_DOMAIN'));
  test('revoked trust domain (empty bundle)', async () =>
    expectInvalid([await craftLeaf(ID, rootA)], 'TRUST_DOMAIN_REVOKED', /untrusted/, staticBundleSource(new Map([[A, []]]))));
});
