// Signed states as a receiver handles them: verified against the bundle held
// for THEIR region, highest version per origin, freshness from the origin's
// signature, and no way for a relay (or an owned region) to alter, forge or
// roll back another region's state or bundle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LocalCa } from '../identity/local-ca.js';
import { parseTrustDomain } from '../identity/spiffe-id.js';
import { regionStateSigner, signRegionState } from '../identity/region-state.js';
import { bundleToJson } from '../identity/trust-bundle.js';
import { toWireBundle } from '../mesh/wire-bundle.js';
import type { RegionState } from '../mesh/mesh-config.js';
import type { PeerConfig } from '../controller/controller-config.js';
import { BOOTSTRAP_REREAD_MS, FederationState } from './federation-state.js';
import { decideOffer, peekClaims } from './signed-state.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
let dir: string;
let b: LocalCa;
let c: LocalCa;
/** An attacker's CA that calls itself c.test: same name, different key. */
let fakeC: LocalCa;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-fedstate-'));
  b = await LocalCa.loadOrCreate(join(dir, 'b-ca'), parseTrustDomain('b.test'));
  c = await LocalCa.loadOrCreate(join(dir, 'c-ca'), parseTrustDomain('c.test'));
  fakeC = await LocalCa.loadOrCreate(join(dir, 'fake-c-ca'), parseTrustDomain('c.test'));
  await writeFile(join(dir, 'b.bundle.json'), bundleToJson(b.bundle()));
  await writeFile(join(dir, 'c.bundle.json'), bundleToJson(c.bundle()));
});
after(() => rm(dir, { recursive: true, force: true }));

const peers = (): PeerConfig[] => [
  { region: 'b', trustDomain: 'b.test', url: 'https://127.0.0.1:1', bundle: join(dir, 'b.bundle.json') },
  // Relay only: A never reaches C; C's states come through B.
  { region: 'c', trustDomain: 'c.test', bundle: join(dir, 'c.bundle.json') },
];

/** A receiver "a" with its own state directory; `now` is shared with the test. */
function receiver(now: () => number = Date.now, stateDir = join(dir, `a-${n++}`)): FederationState {
  return new FederationState({ dir: stateDir, ownRegion: 'a', peers: peers(), staleAfterMs: 10_000, now });
}

function stateOf(ca: LocalCa, region: string, version: number, over: Partial<RegionState> = {}): RegionState {
  return {
    region,
    trustDomain: ca.trustDomain,
    version,
    generatedAt: new Date(version).toISOString(),
    bundle: toWireBundle(ca.bundle()),
    gateways: [`10.0.${region === 'b' ? 2 : 3}.1:15443`],
    exportedServices: [{ namespace: 'shop', name: 'ledger', ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], endpoints: [] }],
    policyDigest: 'sha256:1',
    healthy: true,
    ...over,
  };
}

const sign = (ca: LocalCa, s: object): Promise<string> => signRegionState(s, ca);
const kind = (d: { kind: string; reason?: string }): string => (d.reason ? `${d.kind}: ${d.reason}` : d.kind);

test('the first state of a relay-only region verifies against its bootstrap bundle, is kept on disk and relayed byte for byte', async () => {
  const stateDir = join(dir, 'a-persist');
  const a = receiver(Date.now, stateDir);
  const jws = await sign(c, stateOf(c, 'c', 100));
  assert.equal(kind(a.offer(jws, 'b')), 'accept');
  assert.equal(a.stateOf('c')?.version, 100);
  assert.equal(a.heldOf('c')?.via, 'b');
  assert.deepEqual(a.changesSince(undefined, undefined).states, [jws]);
  const restarted = receiver(Date.now, stateDir);
  assert.equal(restarted.stateOf('c')?.version, 100, 'a restarted controller still knows C (partition-proof)');
  assert.deepEqual(restarted.changesSince(undefined, undefined).states, [jws], 'and can still relay it');
  assert.equal(restarted.remoteRegions().find((r) => r.region === 'c')?.exportedServices[0]?.name, 'ledger');
});

test('the change feed served to peers holds states loaded from disk, accepted, refreshed and our own; the rest does not move it', async () => {
  let t = Date.now();
  const stateDir = join(dir, 'a-feed');
  const v1 = await sign(c, stateOf(c, 'c', 1));
  assert.equal(kind(receiver(() => t, stateDir).offer(v1, 'b')), 'accept');
  const a = new FederationState({ dir: stateDir, ownRegion: 'a', peers: peers(), staleAfterMs: 10_000, now: () => t, feedEpoch: 'e' });
  assert.deepEqual(a.changesSince(undefined, undefined), { states: [v1], cursor: 1, epoch: 'e' }, 'loaded from disk');
  a.putOwn('own-jws');
  assert.deepEqual(a.changesSince(undefined, undefined).states, ['own-jws', v1], 'our own first in a full answer');
  t += 1000;
  const cLater = await LocalCa.loadOrCreate(join(dir, 'c-ca'), c.trustDomain, { now: () => t });
  const refreshed = await sign(cLater, stateOf(c, 'c', 1));
  assert.equal(kind(a.offer(refreshed, 'b')), 'refresh');
  assert.deepEqual(a.changesSince(2, 'e').states, [refreshed], 'a refresh is a change: peers age the region from it');
  assert.equal(kind(a.offer(v1, 'b')), 'unchanged');
  assert.match(kind(a.offer(await sign(fakeC, stateOf(fakeC, 'c', 9)), 'b')), /^reject/);
  assert.deepEqual(a.changesSince(3, 'e'), { states: [], cursor: 3, epoch: 'e' }, 'unchanged and rejected states are no change');
  const b2 = await sign(b, stateOf(b, 'b', 2));
  assert.equal(kind(a.offer(b2, 'b')), 'accept');
  assert.deepEqual(a.changesSince(3, 'e').states, [b2]);
});

test("a region's re-signs (one signer key, same payload) verify from the signer cache, new versions under the same bundle too", async () => {
  let t = Date.now();
  const a = receiver(() => t);
  const cNow = await LocalCa.loadOrCreate(join(dir, 'c-ca'), c.trustDomain, { now: () => t });
  const signC = regionStateSigner(cNow);
  assert.equal(kind(a.offer(await signC(stateOf(c, 'c', 1)), 'c')), 'accept');
  t += 1000;
  assert.equal(kind(a.offer(await signC(stateOf(c, 'c', 1)), 'c')), 'refresh');
  t += 1000;
  assert.equal(kind(a.offer(await signC(stateOf(c, 'c', 2)), 'c')), 'accept');
  t += 1000;
  assert.equal(kind(a.offer(await signC(stateOf(c, 'c', 2)), 'c')), 'refresh');
  assert.equal(a.signers.misses, 1, 'only the first state checked the chain in full');
  assert.equal(a.signers.hits, 3);
  assert.equal(a.ageMs('c'), 0);
});

test('highest version per origin; a later signature of the same version only refreshes; one version never has two contents', async () => {
  let t = Date.now();
  const a = receiver(() => t);
  const v2 = await sign(c, stateOf(c, 'c', 2));
  assert.equal(kind(a.offer(v2, 'c')), 'accept');
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 1)), 'b')), 'unchanged', 'older version');
  assert.equal(kind(a.offer(v2, 'b')), 'unchanged', 'the same bytes again');
  t += 20_000;
  assert.equal(a.remoteRegions().find((r) => r.region === 'c')?.stale, true, 'no signature for 20 s: stale');
  const cNow = await LocalCa.loadOrCreate(join(dir, 'c-ca'), c.trustDomain, { now: () => t });
  assert.equal(kind(a.offer(await sign(cNow, stateOf(c, 'c', 2)), 'b')), 'refresh');
  assert.equal(a.remoteRegions().find((r) => r.region === 'c')?.stale, false, 'a fresh signature, even relayed, makes it fresh');
  assert.equal(a.heldOf('c')?.via, 'b');
  t += 1000;
  assert.match(kind(a.offer(await sign(cNow, stateOf(c, 'c', 2, { healthy: false })), 'b')), /^reject: version 2 was already seen with different content/);
});

test('a relay that alters a state, or re-signs it with its own CA, is refused and changes nothing', async () => {
  const a = receiver();
  const genuine = await sign(c, stateOf(c, 'c', 10));
  assert.equal(kind(a.offer(genuine, 'c')), 'accept');
  const [h, p, s] = genuine.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as RegionState;
  const altered = Buffer.from(JSON.stringify({ ...payload, version: 11, gateways: ['6.6.6.6:443'] })).toString('base64url');
  assert.match(kind(a.offer(`${h}.${altered}.${s}`, 'b')), /^reject: .*tampered/);
  // B owns its CA and signs a state "for C": B's key does not chain to C's bundle.
  assert.match(kind(a.offer(await sign(b, stateOf(c, 'c', 12, { gateways: ['6.6.6.6:443'] })), 'b')), /^reject: .*UNKNOWN_TRUST_DOMAIN|^reject: .*not trusted/);
  assert.equal(a.stateOf('c')?.version, 10);
  assert.deepEqual(a.stateOf('c')?.gateways, ['10.0.3.1:15443']);
});

test('a forged bundle for C (an attacker CA named c.test) is refused; C keeps its own keys', async () => {
  const a = receiver();
  const forged = await sign(fakeC, stateOf(fakeC, 'c', 50));
  assert.match(kind(a.offer(forged, 'b')), /^reject: .*UNTRUSTED_CHAIN/);
  assert.equal(a.stateOf('c'), undefined);
  assert.deepEqual(a.anchor('c')?.x509Authorities, c.bundle().x509Authorities);
  // Even once C is known, the forger cannot slip its key in with a higher version.
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 51)), 'b')), 'accept');
  assert.match(kind(a.offer(await sign(fakeC, stateOf(fakeC, 'c', 52)), 'b')), /^reject: .*UNTRUSTED_CHAIN/);
  assert.deepEqual(a.anchor('c')?.x509Authorities, c.bundle().x509Authorities);
});

test('a newer state may not roll its bundle back to an older sequence', async () => {
  const a = receiver();
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 60)), 'c')), 'accept');
  const older = { ...toWireBundle(c.bundle()), spiffe_sequence: Number(c.bundle().sequence) - 1 };
  assert.match(kind(a.offer(await sign(c, stateOf(c, 'c', 61, { bundle: older })), 'b')), /^reject: its bundle is refused: NOT_NEWER/);
});

test('states of unconfigured regions and our own state relayed back are ignored, a region naming another trust domain is refused', async () => {
  const a = receiver();
  const x = await LocalCa.loadOrCreate(join(dir, 'x-ca'), parseTrustDomain('x.test'));
  assert.match(kind(a.offer(await sign(x, stateOf(x, 'x', 1)), 'b')), /^ignore: region x is not a configured peer/);
  assert.match(kind(a.offer(await sign(x, stateOf(x, 'a', 1)), 'b')), /^ignore: our own state/);
  assert.match(kind(a.offer(await sign(c, stateOf(c, 'b', 1)), 'b')), /^reject: .*(UNKNOWN_TRUST_DOMAIN|not trusted)/, "C cannot speak for B");
  assert.match(kind(a.offer(await sign(c, stateOf(c, 'c', 1, { trustDomain: 'b.test' })), 'b')), /^reject: state claims region c \/ b\.test, configured c \/ c\.test/);
  assert.match(kind(a.offer('not.a.jws', 'b')), /^reject: not a signed region state/);
});

test('CA rotation at C is followed through relayed states: each new bundle arrives signed by a key of the previous one', async () => {
  let t = Date.now();
  const rot = await LocalCa.loadOrCreate(join(dir, 'c-rot-ca'), parseTrustDomain('c.test'), { now: () => t, refreshHintSeconds: 60, rootTtlMs: 30 * DAY, maxSvidTtlMs: 60 * MIN });
  const bootstrap = join(dir, 'c-rot.bundle.json');
  await writeFile(bootstrap, bundleToJson(rot.bundle()));
  const a = new FederationState({
    dir: join(dir, 'a-rot'),
    ownRegion: 'a',
    peers: [{ region: 'c', trustDomain: 'c.test', bundle: bootstrap }],
    staleAfterMs: 10_000,
    now: () => t,
  });
  const publish = (v: number) => sign(rot, stateOf(rot, 'c', v));
  const first = rot.bundle().x509Authorities[0]!;
  assert.equal(kind(a.offer(await publish(1), 'b')), 'accept');
  t += 21 * DAY;
  await rot.maintain(); // the next root is published; the old one still signs
  const d = a.offer(await publish(2), 'b');
  assert.equal(d.kind === 'accept' && d.bundleChanged, true);
  assert.equal(a.anchor('c')?.x509Authorities.length, 2);
  t = rot.authorities().at(-1)!.activeFromMs + MIN; // the new root signs now
  assert.equal(kind(a.offer(await publish(3), 'b')), 'accept');
  t += 2 * 60 * MIN;
  await rot.maintain(); // the old root is retired
  assert.equal(kind(a.offer(await publish(4), 'b')), 'accept');
  assert.deepEqual(a.anchor('c')?.x509Authorities, rot.bundle().x509Authorities);
  assert.ok(!a.anchor('c')!.x509Authorities.includes(first), 'the retired key is no longer trusted for C');
});

test('the operator may override a bundle with a newer bootstrap file (Federation 4.2), never with an older one', async () => {
  const bootstrap = join(dir, 'c-override.bundle.json');
  await writeFile(bootstrap, bundleToJson(c.bundle()));
  let t = Date.now();
  const a = new FederationState({ dir: join(dir, 'a-override'), ownRegion: 'a', peers: [{ region: 'c', trustDomain: 'c.test', bundle: bootstrap }], staleAfterMs: 10_000, now: () => t });
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 1)), 'b')), 'accept');
  const replacement = { ...fakeC.bundle(), sequence: c.bundle().sequence! + 10n };
  await writeFile(bootstrap, bundleToJson(replacement));
  assert.deepEqual(a.anchor('c')?.x509Authorities, c.bundle().x509Authorities, 'the file is not read again on every call');
  t += BOOTSTRAP_REREAD_MS;
  assert.deepEqual(a.anchor('c')?.x509Authorities, fakeC.bundle().x509Authorities, 'a newer file wins once read again');
  await writeFile(bootstrap, bundleToJson({ ...fakeC.bundle(), sequence: 1n }));
  t += BOOTSTRAP_REREAD_MS;
  assert.deepEqual(a.anchor('c')?.x509Authorities, c.bundle().x509Authorities, 'an older file does not');
});

test('property: a corrupted JWS is never accepted with different content, and never makes the receiver throw', async () => {
  const genuine = await sign(c, stateOf(c, 'c', 5));
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: genuine.length - 1 }), fc.constantFrom(...'ABCDEFabcdef0123456789-_.'), async (at, ch) => {
      const mutated = genuine.slice(0, at) + ch + genuine.slice(at + 1);
      // A fresh receiver each run: one that already holds the state would skip verification.
      // Never throws: a relay controls every byte, including the signer chain parsed before the signature check.
      const d = receiver().offer(mutated, 'b');
      if (d.kind === 'accept' || d.kind === 'refresh') {
        // Only a change that decodes to the same bytes (base64url padding bits) may pass.
        assert.equal(JSON.stringify(d.held.state), JSON.stringify(stateOf(c, 'c', 5)));
      }
      // Parsing what the JWS says about itself never throws.
      peekClaims(mutated);
    }),
    { numRuns: 300, interruptAfterTimeLimit: 8000 },
  );
});

test('a signer certificate whose key usage extension is malformed is refused, never thrown', async () => {
  // OpenSSL reads such a certificate (extension values stay opaque); the SVID profile check must then
  // refuse it as a value. Found by the property test above; crafted here so it runs every time.
  const genuine = await sign(c, stateOf(c, 'c', 7));
  const [h, p, sig] = genuine.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { x5c: string[] };
  const der = Buffer.from(header.x5c[0]!, 'base64');
  const ku = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]));
  const bitString = der.indexOf(Buffer.from([0x03, 0x02]), ku);
  assert.ok(ku > 0 && bitString > ku, 'the leaf carries a key usage BIT STRING');
  der[bitString + 1] = 0x05; // the BIT STRING claims more bytes than its OCTET STRING holds
  header.x5c[0] = der.toString('base64');
  const mutated = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${sig}`;
  const d = decideOffer({ jws: mutated, via: 'b', ownRegion: 'a', peerFor: (r) => peers().find((x) => x.region === r), held: () => undefined, anchor: () => c.bundle(), now: Date.now() });
  assert.equal(d.kind, 'reject');
});

test('every one-character corruption of the signer chain (x5c) is refused, never thrown', async () => {
  const genuine = await sign(c, stateOf(c, 'c', 6));
  const header = genuine.split('.')[0]!;
  const refusals = new Set<string>();
  for (let at = 0; at < header.length; at++) {
    const mutated = genuine.slice(0, at) + (genuine[at] === 'A' ? 'B' : 'A') + genuine.slice(at + 1);
    const d = decideOffer({ jws: mutated, via: 'b', ownRegion: 'a', peerFor: (r) => peers().find((p) => p.region === r), held: () => undefined, anchor: () => c.bundle(), now: Date.now() });
    assert.ok(d.kind === 'reject' || d.kind === 'ignore', `position ${at}: ${d.kind}`);
    if (d.kind === 'reject') refusals.add(d.reason.split(':')[0]!);
  }
  assert.ok(refusals.size > 1, `refused for several reasons: ${[...refusals].join(' | ')}`);
});

test('past staleAfter a region is demoted but kept; past expireAfter its services and gateways are withheld; a fresh state brings them back', async () => {
  let t = Date.now();
  const a = new FederationState({ dir: join(dir, `a-${n++}`), ownRegion: 'a', peers: peers(), staleAfterMs: 10_000, expireAfterMs: 60_000, now: () => t });
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 5)), 'b')), 'accept');
  const view = () => a.remoteRegions().find((r) => r.region === 'c')!;
  assert.deepEqual([view().stale, view().expired ?? false, view().exportedServices.length], [false, false, 1]);
  t += 30_000;
  assert.deepEqual([view().stale, view().expired ?? false, view().exportedServices.length], [true, false, 1], 'stale: kept, demoted');
  t += 40_000;
  assert.deepEqual([view().stale, view().expired, view().exportedServices.length, view().gateways?.length, view().gateway], [true, true, 0, 0, undefined], 'expired: removed');
  assert.equal(a.changesSince(undefined, undefined).states.length, 1, 'still held and relayed: it anchors the bundle and peers judge its age themselves');
  const cNow = await LocalCa.loadOrCreate(join(dir, 'c-ca'), c.trustDomain, { now: () => t });
  assert.equal(kind(a.offer(await sign(cNow, stateOf(c, 'c', 6)), 'b')), 'accept');
  assert.deepEqual([view().stale, view().expired ?? false, view().exportedServices.length], [false, false, 1], 'fresh again');
});

test('per-resource policy digests and the commit travel in the signed state; a malformed digest map is refused', async () => {
  const a = receiver();
  const digests = { 'AuthorizationPolicy shop/a': 'a'.repeat(64) };
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', 7, { policyDigests: digests, policyCommit: 'abcdef1' })), 'b')), 'accept');
  assert.deepEqual(a.stateOf('c')?.policyDigests, digests);
  assert.equal(a.stateOf('c')?.policyCommit, 'abcdef1');
  assert.match(kind(a.offer(await sign(c, stateOf(c, 'c', 8, { policyDigests: { x: 'not-a-digest' } })), 'b')), /^reject: .*policyDigests/);
  assert.equal(a.stateOf('c')?.version, 7, 'the bad state changed nothing');
});

test('a signed state with malformed links or relayFor is refused; well-formed ones are kept', async () => {
  const a = receiver();
  const link = { region: 'b', reachable: true, rttMs: 20, loss: 0 };
  const bad: Array<[string, Partial<RegionState>]> = [
    ['a link to a bad region name', { links: [{ ...link, region: 'B_1' }] }],
    ['loss above 1', { links: [{ ...link, loss: 2 }] }],
    ['a negative RTT', { links: [{ ...link, rttMs: -5 }] }],
    ['reachable missing', { links: [{ region: 'b', loss: 0 } as never] }],
    ['too many links', { links: Array.from({ length: 1025 }, () => link) }],
    ['links not a list', { links: 'b' as never }],
    ['relayFor naming a bad region', { relayFor: ['b', 'Not A Region'] }],
    ['relayFor not a list', { relayFor: 'b' as never }],
    ['too many relayFor', { relayFor: Array.from({ length: 1025 }, (_, i) => `r${i}`) }],
  ];
  let v = 200;
  for (const [what, over] of bad) {
    const d = a.offer(await sign(c, stateOf(c, 'c', v++, over)), 'c');
    assert.equal(d.kind, 'reject', `${what}: ${kind(d)}`);
    assert.equal(a.stateOf('c'), undefined, `${what}: nothing kept`);
  }
  assert.equal(kind(a.offer(await sign(c, stateOf(c, 'c', v, { links: [link, { region: 'd', reachable: false, loss: 1 }], relayFor: ['b'] })), 'c')), 'accept');
  assert.deepEqual(a.stateOf('c')?.links, [link, { region: 'd', reachable: false, loss: 1 }]);
  assert.deepEqual(a.stateOf('c')?.relayFor, ['b']);
});
