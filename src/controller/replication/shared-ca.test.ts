// The CA shared by replicas: what the leader seals, a follower opens into
// its own directory and reloads, through a rotation step; a document sealed
// with another key, bound to another etcd key, altered, or of another trust
// domain is refused and leaves the follower's CA as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalCa } from '../../identity/local-ca.js';
import { parseTrustDomain } from '../../identity/spiffe-id.js';
import type { TrustBundle } from '../../identity/trust-bundle.js';
import { StateKey } from './state-key.js';
import { openCaDocument, sealCaDirectory, writeCaDirectory } from './shared-ca.js';

const EU = parseTrustDomain('eu.test');
const DAY = 86_400_000;
const KEY = '/entente/eu/ca';

test("a follower adopts the leader's CA, and its rotation, from the sealed document; bad documents are refused", async () => {
  const root = await mkdtemp(join(tmpdir(), 'entente-shared-ca-'));
  try {
    let t = Date.UTC(2026, 0, 1);
    const opts = { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY, svidTtlMs: 3_600_000, maxSvidTtlMs: 3_600_000 };
    const stateKey = StateKey.fromBytes(randomBytes(32));
    const leader = await LocalCa.loadOrCreate(join(root, 'leader'), EU, opts);
    const sealed = await sealCaDirectory(join(root, 'leader'), stateKey, KEY);
    assert.ok(!sealed.includes('PRIVATE KEY') && !sealed.includes('BEGIN'), 'no PEM in the clear');

    await writeCaDirectory(join(root, 'follower'), openCaDocument(sealed, stateKey, KEY, EU));
    const follower = await LocalCa.loadOrCreate(join(root, 'follower'), EU, { ...opts, maintain: false });
    assert.deepEqual(follower.bundle(), leader.bundle(), 'the same CA');
    assert.equal(follower.signingCertPem, leader.signingCertPem);
    const keyFile = (await readdir(join(root, 'follower'))).find((f) => f.endsWith('.key') || f.includes('key'));
    assert.ok(keyFile, 'the key was written');
    assert.equal((await stat(join(root, 'follower', keyFile))).mode & 0o077, 0, 'the key file is private');

    // The leader prepares the next root; the follower takes it from the new document and announces it.
    t += 20 * DAY;
    const [step] = await leader.maintain();
    assert.equal(step?.kind, 'prepare');
    const announced: TrustBundle[] = [];
    follower.onBundleChange((b) => announced.push(b));
    await writeCaDirectory(join(root, 'follower'), openCaDocument(await sealCaDirectory(join(root, 'leader'), stateKey, KEY), stateKey, KEY, EU));
    assert.equal(await follower.reload(), true);
    assert.equal(announced.length, 1);
    assert.deepEqual(follower.bundle(), leader.bundle(), 'both roots, same sequence');

    const other = StateKey.fromBytes(randomBytes(32));
    assert.throws(() => openCaDocument(sealed, other, KEY, EU), /SEALED_WRONG_KEY|does not open/);
    assert.throws(() => openCaDocument(sealed, stateKey, '/entente/us/ca', EU), /does not open/, 'bound to its etcd key');
    const parts = sealed.split('.');
    const altered = [parts[0], parts[1], parts[2], `${parts[3]!.slice(0, -2)}AA`].join('.');
    assert.throws(() => openCaDocument(altered, stateKey, KEY, EU), /does not open/);
    assert.throws(() => openCaDocument(sealed, stateKey, KEY, parseTrustDomain('us.test')), /CA_TRUST_DOMAIN_MISMATCH|holds the CA of eu.test/);
    assert.throws(() => openCaDocument('not sealed', stateKey, KEY, EU), /not "es1/);
    assert.deepEqual(follower.bundle(), leader.bundle(), 'refusals changed nothing');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the state key file must be 32 base64 bytes, private to its owner; values it authenticates are bound to their key', async () => {
  const root = await mkdtemp(join(tmpdir(), 'entente-state-key-'));
  try {
    const { writeFile, chmod } = await import('node:fs/promises');
    const good = join(root, 'good');
    await writeFile(good, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    assert.ok(StateKey.fromFile(good));
    const open = join(root, 'open');
    await writeFile(open, randomBytes(32).toString('base64'));
    await chmod(open, 0o644);
    assert.throws(() => StateKey.fromFile(open), /STATE_KEY_EXPOSED|readable by group or others/);
    const short = join(root, 'short');
    await writeFile(short, randomBytes(16).toString('base64'), { mode: 0o600 });
    assert.throws(() => StateKey.fromFile(short), /expected 32 bytes/);
    assert.throws(() => StateKey.fromFile(join(root, 'missing')), /etcd\.stateKeyFile .*ENOENT/);
    // Authenticated values: bound to their etcd key, refused when altered or made with another key.
    const k = StateKey.fromFile(good);
    const v = k.authenticate('{"node":"n1"}', '/entente/eu/nodes/n1');
    assert.equal(k.verify(v, '/entente/eu/nodes/n1'), '{"node":"n1"}');
    assert.equal(k.verify(v, '/entente/eu/nodes/n2'), undefined, 'moved to another key');
    assert.equal(k.verify(v.replace('n1"}', 'n9"}'), '/entente/eu/nodes/n1'), undefined, 'altered');
    assert.equal(StateKey.fromBytes(randomBytes(32)).verify(v, '/entente/eu/nodes/n1'), undefined, 'another key');
    assert.equal(k.verify('{"node":"n1"}', '/entente/eu/nodes/n1'), undefined, 'not authenticated at all');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
