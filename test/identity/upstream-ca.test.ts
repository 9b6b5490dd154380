// LocalCa as an intermediate of an operator PKI: a good setup issues SVIDs
// whose chain verifies against the operator root (ours and OpenSSL's
// verifier), and each kind of wrong file is refused at start-up with a reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { BundleStore } from '../../src/identity/bundle-store.js';
import { verifyX509SvidPem } from '../../src/identity/verify-svid.js';
import { splitPemCertificates } from '../../src/identity/pem.js';
import { craft, craftIntermediate, HOUR, KU, type Crafted } from './craft-cert.js';

const run = promisify(execFile);
const TD = parseTrustDomain('eu.corp.test');
let dir: string;
let root: Crafted;
let policyCa: Crafted;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-upstream-'));
  // An operator root that is not an SVID, and a policy CA below it.
  root = await craft({ subject: 'O=Corp, CN=Corp Root', ca: true, keyUsage: KU.keyCertSign | KU.cRLSign, notAfter: new Date(Date.now() + 100 * HOUR) });
  policyCa = await craft({ subject: 'O=Corp, CN=Mesh Policy CA', issuer: root, ca: true, keyUsage: KU.keyCertSign, notAfter: new Date(Date.now() + 50 * HOUR) });
});
after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function files(cert: Crafted | string, key: Crafted, chain: Crafted[]): Promise<{ cert: string; key: string; chain: string }> {
  const p = join(dir, `set${n++}`);
  const out = { cert: `${p}.crt`, key: `${p}.key`, chain: `${p}-chain.pem` };
  await writeFile(out.cert, typeof cert === 'string' ? cert : cert.pem);
  await writeFile(out.key, await privateKeyToPem(key.keys.privateKey), { mode: 0o600 });
  await writeFile(out.chain, chain.map((c) => c.pem).join(''));
  return out;
}

test('a region intermediate under an operator PKI issues SVIDs that chain to the operator root', async () => {
  const inter = await craftIntermediate('eu.corp.test', policyCa);
  const ca = await LocalCa.loadOrCreate(join(dir, 'unused'), TD, { upstream: await files(inter, inter, [policyCa, root]) });
  assert.deepEqual(ca.bundle().x509Authorities, [root.pem], 'the bundle holds the operator root');
  assert.equal(ca.caCertPem, root.pem);
  assert.equal(ca.signingCertPem, inter.pem);
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.forWorkload(TD, 'pay', 'api'), keys.publicKey);
  const chain = splitPemCertificates(svid.chainPem);
  assert.deepEqual(chain.slice(1), [inter.pem, policyCa.pem], 'leaf + intermediates, without the root');
  const v = verifyX509SvidPem(svid.chainPem, new BundleStore([ca.bundle()]), Date.now());
  assert.equal(v.kind, 'valid', JSON.stringify(v));
  // OpenSSL agrees.
  await writeFile(join(dir, 'leaf.pem'), chain[0]!);
  await writeFile(join(dir, 'untrusted.pem'), chain.slice(1).join(''));
  await writeFile(join(dir, 'root.pem'), root.pem);
  const { stdout } = await run('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')]);
  assert.match(stdout, /: OK/);
  // A URI SAN naming this trust domain (no path) is fine too; a chain of just the root as well.
  const withSan = await craftIntermediate('eu.corp.test', root);
  await LocalCa.loadOrCreate(join(dir, 'unused'), TD, { upstream: await files(withSan, withSan, [root]) });
});

test('wrong operator files are refused with the reason', async () => {
  const good = await craftIntermediate('eu.corp.test', policyCa, { uris: [] });
  const other = await craft({ subject: 'O=Other, CN=Other Root', ca: true, keyUsage: KU.keyCertSign });
  const cases: [string, () => Promise<{ cert: string; key: string; chain: string }>, RegExp][] = [
    ['not a CA', async () => { const c = await craftIntermediate('eu.corp.test', policyCa, { ca: false }); return files(c, c, [policyCa, root]); }, /not a CA/],
    ['no keyCertSign', async () => { const c = await craftIntermediate('eu.corp.test', policyCa, { keyUsage: KU.cRLSign }); return files(c, c, [policyCa, root]); }, /keyCertSign/],
    ['key of another certificate', () => files(good, policyCa, [policyCa, root]), /is not the key of/],
    ['chain that did not sign it', () => files(good, good, [other]), /did not sign the upstream certificate/],
    ['chain in the wrong order', () => files(good, good, [root, policyCa]), /did not sign/],
    ['SAN of another trust domain', async () => { const c = await craftIntermediate('us.corp.test', policyCa); return files(c, c, [policyCa, root]); }, /expected none or spiffe:\/\/eu\.corp\.test/],
    ['SAN with a path', async () => { const c = await craftIntermediate('eu.corp.test', policyCa, { uris: ['spiffe://eu.corp.test/ca'] }); return files(c, c, [policyCa, root]); }, /has a path/],
    ['expired', async () => { const c = await craftIntermediate('eu.corp.test', policyCa, { notBefore: new Date(Date.now() - 3 * HOUR), notAfter: new Date(Date.now() - HOUR) }); return files(c, c, [policyCa, root]); }, /not valid now/],
    ['two certificates in the cert file', () => files(good.pem + policyCa.pem, good, [policyCa, root]), /expected exactly one/],
    ['empty chain', () => files(good, good, []), /no certificate/],
  ];
  for (const [name, mk, want] of cases) {
    const upstream = await mk();
    await assert.rejects(LocalCa.loadOrCreate(join(dir, 'unused'), TD, { upstream }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BAD_UPSTREAM_CA', name);
      assert.match(err.message, want, name);
      return true;
    });
  }
});
