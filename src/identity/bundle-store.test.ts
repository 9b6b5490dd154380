// BundleStore: per-trust-domain authorities for verification, growth-only
// updates, revocation by empty bundle, and update events naming what changed.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleStore, type BundleUpdateEvent } from './bundle-store.js';
import { LocalCa } from './local-ca.js';
import { generateKeyPair } from './keys.js';
import { SpiffeId, parseTrustDomain } from './spiffe-id.js';
import { verifyX509SvidChain } from './verify-svid.js';
import { parseBundleJson } from './trust-bundle.js';

const EU = parseTrustDomain('eu.test');
const US = parseTrustDomain('us.test');
let dir: string;
let eu: LocalCa;
let us: LocalCa;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-store-'));
  eu = await LocalCa.loadOrCreate(join(dir, 'eu'), EU);
  us = await LocalCa.loadOrCreate(join(dir, 'us'), US);
});
after(() => rm(dir, { recursive: true, force: true }));

test('verifies against the right trust domain, honours revocation, and reports changes', async () => {
  const store = new BundleStore([eu.bundle()]);
  const events: BundleUpdateEvent[] = [];
  const off = store.onUpdate((e) => events.push(e));
  const keys = await generateKeyPair();
  const id = SpiffeId.forWorkload(EU, 'shop', 'web');
  const leaf = new X509Certificate((await eu.issue(id, keys.publicKey, 3_600_000)).certPem);
  const usLeaf = new X509Certificate((await us.issue(SpiffeId.forWorkload(US, 'a', 'b'), keys.publicKey, 3_600_000)).certPem);

  assert.equal(verifyX509SvidChain([leaf], store, Date.now()).kind, 'valid');
  const unknown = verifyX509SvidChain([usLeaf], store, Date.now());
  assert.equal(unknown.kind === 'invalid' && unknown.code, 'UNKNOWN_TRUST_DOMAIN');

  assert.equal(store.update(us.bundle()).kind, 'accept');
  assert.equal(verifyX509SvidChain([usLeaf], store, Date.now()).kind, 'valid');
  assert.deepEqual(store.trustDomains().sort(), ['eu.test', 'us.test']);

  // A replay of an older EU bundle is refused and changes nothing.
  const seq = eu.bundle().sequence!;
  const revoked = parseBundleJson(`{"keys":[],"spiffe_sequence":${seq + 1n}}`, 'eu.test');
  assert.equal(store.update(revoked).kind, 'accept');
  const r = verifyX509SvidChain([leaf], store, Date.now());
  assert.equal(r.kind === 'invalid' && r.code, 'TRUST_DOMAIN_REVOKED');
  assert.deepEqual(store.authoritiesFor(EU), []);
  const replay = store.update(eu.bundle());
  assert.equal(replay.kind === 'reject' && replay.code, 'NOT_NEWER');
  assert.equal(verifyX509SvidChain([leaf], store, Date.now()).kind, 'invalid', 'the replay did not resurrect the key');

  const last = events.at(-1)!;
  assert.equal(last.trustDomain, 'eu.test');
  assert.deepEqual(last.removedAuthorities, [eu.caCertPem]);
  assert.deepEqual(events.map((e) => e.trustDomain), ['us.test', 'eu.test']);

  assert.equal(store.remove(US), true);
  assert.equal(events.at(-1)?.next, undefined);
  off();
  store.replace(eu.bundle()); // operator override: no sequence check
  assert.equal(events.length, 3, 'unsubscribed listener hears nothing more');
  assert.equal(verifyX509SvidChain([leaf], store, Date.now()).kind, 'valid');
});

test('a throwing listener does not stop the others', () => {
  const errors: unknown[] = [];
  const store = new BundleStore([], (e) => errors.push(e));
  let heard = 0;
  store.onUpdate(() => {
    throw new Error('boom');
  });
  store.onUpdate(() => heard++);
  store.update(eu.bundle());
  assert.equal(heard, 1);
  assert.equal(errors.length, 1);
});
