// Interop with a real, independent X.509 stack: OpenSSL verifies SVIDs issued
// by LocalCa, and openssl s_client / s_server complete mTLS with a Node TLS
// server / client that verifies peers with verifyTlsPeer. A crafted bad client
// certificate that OpenSSL itself accepts is still refused by our side.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, importKeyPairPem, privateKeyToPem } from '../../src/identity/keys.js';
import { createCsrPem } from '../../src/identity/csr.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { staticBundleSource, type SvidVerification } from '../../src/identity/verify-svid.js';
import { svidTlsOptions, verifyTlsPeer } from '../../src/identity/svid-tls.js';
import { craftLeaf, EKU, type Crafted } from './craft-cert.js';
import { x509 } from '../../src/identity/x509-lib.js';

const run = promisify(execFile);
const TD = parseTrustDomain('interop.test');
const SERVER_ID = SpiffeId.forWorkload(TD, 'demo', 'server');
const CLIENT_ID = SpiffeId.forWorkload(TD, 'demo', 'client');

let dir: string;
let ca: LocalCa;
const children: ChildProcess[] = [];
const f = (name: string) => join(dir, name);

async function issueTo(name: string, id: SpiffeId): Promise<void> {
  const keys = await generateKeyPair();
  const svid = await ca.issueFromCsr(await createCsrPem(keys, id.toString()), id, 3_600_000);
  await writeFile(f(`${name}.pem`), svid.chainPem);
  await writeFile(f(`${name}.key`), await privateKeyToPem(keys.privateKey), { mode: 0o600 });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-interop-'));
  ca = await LocalCa.loadOrCreate(join(dir, 'ca'), TD);
  await writeFile(f('ca.pem'), ca.caCertPem);
  await issueTo('server', SERVER_ID);
  await issueTo('client', CLIENT_ID);
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function bundles() {
  return staticBundleSource(new Map([[TD, [new X509Certificate(ca.caCertPem)]]]));
}

/** Resolves when `pred` holds for the accumulated output, rejects after `ms`. */
function waitForOutput(child: ChildProcess, pred: (out: string) => boolean, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for openssl; output so far:\n${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      if (pred(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

test('openssl verify accepts issued SVIDs as TLS client and server certificates (x509_strict)', async () => {
  for (const purpose of ['sslclient', 'sslserver']) {
    const { stdout } = await run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', f('ca.pem'), f('client.pem')]);
    assert.match(stdout, /: OK/);
  }
  // And it refuses the same SVID against another trust domain's CA.
  const other = await LocalCa.loadOrCreate(join(dir, 'other'), parseTrustDomain('other.test'));
  await writeFile(f('other.pem'), other.caCertPem);
  await assert.rejects(run('openssl', ['verify', '-CAfile', f('other.pem'), f('client.pem')]));
});

/** A Node mTLS server verifying clients with verifyTlsPeer; replies with the verdict. */
async function startNodeServer(verdicts: SvidVerification[]): Promise<{ port: number; close: () => Promise<void> }> {
  const [cert, key] = await Promise.all([readFile(f('server.pem'), 'utf8'), readFile(f('server.key'), 'utf8')]);
  const server = tls.createServer({ ...svidTlsOptions(cert, key), requestCert: true }, (socket) => {
    const v = verifyTlsPeer(socket, bundles(), Date.now());
    verdicts.push(v);
    if (v.kind !== 'valid') {
      socket.destroy();
      return;
    }
    socket.end(`hello ${v.spiffeId}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

test('openssl s_client with a client SVID completes mTLS with a Node server that verifies it', async () => {
  const verdicts: SvidVerification[] = [];
  const srv = await startNodeServer(verdicts);
  try {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-cert', f('client.pem'), '-key', f('client.key'), '-CAfile', f('ca.pem'), '-verify_return_error', '-ign_eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    child.stdin?.end();
    const out = await waitForOutput(child, (o) => o.includes(`hello ${CLIENT_ID}`));
    assert.match(out, /Verify return code: 0 \(ok\)/, 'openssl verified the Node server SVID against the CA');
    assert.equal(verdicts[0]?.kind, 'valid');
  } finally {
    await srv.close();
  }
});

test('a client certificate OpenSSL accepts but which breaks an SVID rule is refused by the Node server', async () => {
  // Signed by the real CA, chain-valid for OpenSSL, but its EKU lacks serverAuth.
  const caCert = new x509.X509Certificate(ca.caCertPem);
  const caKeys = await importKeyPairPem(await readFile(join(dir, 'ca', ca.authorities()[0]!.keyFile), 'utf8'));
  const issuer = { cert: caCert, keys: caKeys } as unknown as Crafted;
  const bad = await craftLeaf(CLIENT_ID.toString(), issuer, { eku: [EKU.clientAuth] });
  await writeFile(f('bad.pem'), bad.pem);
  await writeFile(f('bad.key'), await privateKeyToPem(bad.keys.privateKey), { mode: 0o600 });
  await run('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', f('ca.pem'), f('bad.pem')]); // OpenSSL: fine

  const verdicts: SvidVerification[] = [];
  const srv = await startNodeServer(verdicts);
  try {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-cert', f('bad.pem'), '-key', f('bad.key'), '-CAfile', f('ca.pem'), '-ign_eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    child.stdin?.end();
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await exited;
    assert.equal(verdicts.length, 1);
    assert.equal(verdicts[0]?.kind === 'invalid' && verdicts[0].code, 'BAD_EXTENDED_KEY_USAGE');
  } finally {
    await srv.close();
  }
});

test('a Node client with an SVID completes mTLS with openssl s_server that requires and verifies client certificates', async () => {
  const server = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-cert', f('server.pem'), '-key', f('server.key'), '-CAfile', f('ca.pem'), '-Verify', '2', '-verify_return_error', '-naccept', '1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(server);
  const banner = await waitForOutput(server, (o) => /ACCEPT [\d.]+:\d+/.test(o));
  const port = Number(/ACCEPT [\d.]+:(\d+)/.exec(banner)![1]);
  const [cert, key] = await Promise.all([readFile(f('client.pem'), 'utf8'), readFile(f('client.key'), 'utf8')]);
  const serverSaw = waitForOutput(server, (o) => o.includes('ping-from-node'));
  const verdict = await new Promise<SvidVerification>((resolve, reject) => {
    const socket = tls.connect({ ...svidTlsOptions(cert, key), host: '127.0.0.1', port }, () => {
      const v = verifyTlsPeer(socket, bundles(), Date.now(), SERVER_ID);
      if (v.kind === 'valid') socket.write('ping-from-node\n');
      resolve(v);
      setTimeout(() => socket.end(), 0);
    });
    socket.on('error', reject);
  });
  assert.equal(verdict.kind, 'valid', JSON.stringify(verdict));
  const out = await serverSaw;
  assert.doesNotMatch(out, /verify error/);
});
