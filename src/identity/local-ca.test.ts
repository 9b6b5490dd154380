// LocalCa on disk: creation and file modes, TTL rules, the full rotation
// timeline under a fake clock, legacy layout migration and orphan files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { LocalCa } from './local-ca.js';
import { generateKeyPair } from './keys.js';
import { createCsrPem } from './csr.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { verifyX509SvidChain } from './verify-svid.js';
import { BundleStore } from './bundle-store.js';
import type { TrustBundle } from './trust-bundle.js';

const EU = parseTrustDomain('eu.test');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-ca-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

test('CA is created once with private files, reloads identically, and signs SVIDs verifiable only in its own trust domain', () =>
  withDir(async (dir) => {
    const ca = await LocalCa.loadOrCreate(join(dir, 'eu'), EU);
    assert.equal(await mode(join(dir, 'eu')), 0o700);
    const a = ca.authorities()[0]!;
    assert.equal(await mode(join(dir, 'eu', a.keyFile)), 0o600);
    assert.equal(await mode(join(dir, 'eu', 'ca-state.json')), 0o600);
    const again = await LocalCa.loadOrCreate(join(dir, 'eu'), EU);
    assert.equal(again.caCertPem, ca.caCertPem, 'reloads the same CA');
    assert.equal(again.bundle().sequence, ca.bundle().sequence);

    const keys = await generateKeyPair();
    const id = SpiffeId.forWorkload(EU, 'shop', 'frontend');
    const svid = await ca.issueFromCsr(await createCsrPem(keys, id.toString()), id);
    const leaf = new X509Certificate(svid.certPem);
    assert.equal(leaf.subjectAltName, `URI:${id}`);
    assert.equal(svid.notAfter.getTime() - Date.now() <= HOUR && svid.notAfter.getTime() - Date.now() > HOUR - MIN, true, 'default TTL is 1 h');
    assert.equal(verifyX509SvidChain([leaf], new BundleStore([ca.bundle()]), Date.now()).kind, 'valid');

    const us = await LocalCa.loadOrCreate(join(dir, 'us'), parseTrustDomain('us.test'));
    const cross = verifyX509SvidChain([leaf], { authoritiesFor: () => [new X509Certificate(us.caCertPem)] }, Date.now());
    assert.equal(cross.kind === 'invalid' && cross.code, 'UNTRUSTED_CHAIN');
    await assert.rejects(us.issue(id, keys.publicKey), /cannot sign/);
    await assert.rejects(LocalCa.loadOrCreate(join(dir, 'eu'), parseTrustDomain('us.test')), /belongs to eu\.test/);
    await assert.rejects(ca.issue(SpiffeId.forTrustDomain(EU), keys.publicKey), /no path/);
  }));

test('SVID TTL: at least 5 minutes, longer requests are capped', () =>
  withDir(async (dir) => {
    await assert.rejects(LocalCa.loadOrCreate(dir, EU, { svidTtlMs: 4 * MIN }), /below 5 minutes/);
    const t = Date.now();
    const ca = await LocalCa.loadOrCreate(dir, EU, { svidTtlMs: 5 * MIN, maxSvidTtlMs: 2 * HOUR, now: () => t });
    const keys = await generateKeyPair();
    const id = SpiffeId.forWorkload(EU, 'a', 'b');
    assert.equal((await ca.issue(id, keys.publicKey)).notAfter.getTime(), Math.floor((t + 5 * MIN) / 1000) * 1000);
    await assert.rejects(ca.issue(id, keys.publicKey, 5 * MIN - 1), /below 5 minutes/);
    assert.equal((await ca.issue(id, keys.publicKey, 10 * DAY)).notAfter.getTime(), Math.floor((t + 2 * HOUR) / 1000) * 1000);
  }));

test('rotation timeline: publish ahead, switch signer, keep the old key until its last SVID expired, then drop it', () =>
  withDir(async (dir) => {
    let t = Date.now();
    const opts = { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY, svidTtlMs: HOUR, maxSvidTtlMs: HOUR };
    const ca = await LocalCa.loadOrCreate(dir, EU, opts);
    const bundles: TrustBundle[] = [];
    ca.onBundleChange((b) => bundles.push(b));
    const b1 = ca.bundle();
    const oldRoot = ca.caCertPem;
    const keys = await generateKeyPair();
    const id = SpiffeId.forWorkload(EU, 'shop', 'web');
    const issuerOf = async () => new X509Certificate((await ca.issue(id, keys.publicKey)).certPem).issuer;
    const rootSubject = (pem: string) => new X509Certificate(pem).subject;

    t += DAY;
    assert.deepEqual(await ca.maintain(), [], 'nothing to do early in the root lifetime');

    t += 19.5 * DAY; // past two thirds of 30 days
    const [prep] = await ca.maintain();
    assert.equal(prep?.kind, 'prepare');
    const b2 = ca.bundle();
    assert.equal(b2.x509Authorities.length, 2, 'the next root is published');
    assert.ok(b2.sequence! > b1.sequence!, 'and the sequence grew');
    const next = ca.authorities().find((a) => a.activeFromMs > t)!;
    assert.ok(next.activeFromMs - next.publishedAtMs >= 3 * 60_000, 'published at least 3x the refresh hint before signing');
    assert.equal(await issuerOf(), rootSubject(oldRoot), 'the old root still signs during prepublication');

    // A reload mid-rotation sees the same state.
    const reloaded = await LocalCa.loadOrCreate(dir, EU, opts);
    assert.deepEqual(reloaded.bundle(), b2);

    t = next.activeFromMs - 1000;
    const lastOld = await ca.issue(id, keys.publicKey);
    t = next.activeFromMs;
    assert.notEqual(await issuerOf(), rootSubject(oldRoot), 'the new root signs from its activation time');
    assert.notEqual(ca.caCertPem, oldRoot);
    assert.deepEqual(await ca.maintain(), [], 'activation needs no bundle change');

    // Peers holding bundle #2 (fetched before activation) verify both generations.
    const peers = new BundleStore([b2]);
    const fresh = await ca.issue(id, keys.publicKey);
    assert.equal(verifyX509SvidChain([new X509Certificate(fresh.certPem)], peers, t).kind, 'valid');
    t = next.activeFromMs + 30 * MIN;
    assert.equal(verifyX509SvidChain([new X509Certificate(lastOld.certPem)], peers, t).kind, 'valid');
    assert.deepEqual(await ca.maintain(), [], 'the old root stays while an SVID it signed is alive');

    t = lastOld.notAfter.getTime() + 2 * MIN; // past its last SVID (+ skew allowance)
    const [rm1] = await ca.maintain();
    assert.equal(rm1?.kind, 'remove');
    const b3 = ca.bundle();
    assert.deepEqual(b3.x509Authorities, [ca.caCertPem]);
    assert.ok(b3.sequence! > b2.sequence!);
    assert.deepEqual(bundles.map((b) => b.x509Authorities.length), [2, 1]);
    const files = await readdir(dir);
    assert.equal(files.filter((f) => f.endsWith('.key')).length, 1, 'the retired key is deleted');
  }));

test('rotateNow still prepublishes; an expired CA (controller down for a year) bootstraps a new root at once', () =>
  withDir(async (dir) => {
    let t = Date.now();
    const ca = await LocalCa.loadOrCreate(dir, EU, { now: () => t, refreshHintSeconds: 100, rootTtlMs: 10 * DAY });
    const first = ca.caCertPem;
    const [a] = await ca.maintain({ rotateNow: true });
    assert.equal(a?.kind === 'prepare' && a.activeFromMs, t + 300_000);
    assert.equal(ca.caCertPem, first);
    t += 400 * DAY;
    assert.throws(() => ca.caCertPem, /no valid signing key/);
    const acts = await ca.maintain();
    assert.ok(acts.some((x) => x.kind === 'bootstrap'));
    assert.notEqual(ca.caCertPem, first);
    assert.equal(ca.bundle().x509Authorities.length, 1, 'expired roots are dropped');
  }));

test('migrates the first on-disk layout (ca.key + ca.crt) and ignores orphan files', () =>
  withDir(async (dir) => {
    const src = await LocalCa.loadOrCreate(join(dir, 'src'), EU);
    const a = src.authorities()[0]!;
    const legacy = join(dir, 'legacy');
    await mkdir(legacy);
    await copyFile(join(dir, 'src', a.keyFile), join(legacy, 'ca.key'));
    await copyFile(join(dir, 'src', a.certFile), join(legacy, 'ca.crt'));
    await writeFile(join(legacy, 'ca-orphan.key'), 'not a key', { mode: 0o600 }); // a crash before the state write
    const ca = await LocalCa.loadOrCreate(legacy, EU);
    assert.equal(ca.caCertPem, src.caCertPem);
    assert.equal(ca.authorities()[0]?.id, 'legacy');
    const keys = await generateKeyPair();
    const leaf = new X509Certificate((await ca.issue(SpiffeId.forWorkload(EU, 'x', 'y'), keys.publicKey)).certPem);
    assert.equal(verifyX509SvidChain([leaf], new BundleStore([src.bundle()]), Date.now()).kind, 'valid');
  }));
