// decideOffer's re-sign fast path: a state whose payload bytes equal the held
// one's (same version, later iat) is a refresh after a signature check only,
// and everything the full path refuses is still refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { LocalCa } from '../identity/local-ca.js';
import { EC_P256_SHA256, generateKeyPair, type KeyPair } from '../identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../identity/spiffe-id.js';
import { pemBlocks } from '../identity/pem.js';
import { REGION_STATE_TYP, SignerCache } from '../identity/region-state.js';
import { stringifyJson } from '../identity/strict-json.js';
import { bundleToJson, parseBundleJson, type TrustBundle } from '../identity/trust-bundle.js';
import { toWireBundle } from '../mesh/wire-bundle.js';
import type { RegionState } from '../mesh/mesh-config.js';
import { decideOffer, type HeldRegionState, type OfferDecision } from './signed-state.js';

const MIN = 60_000;
let dir: string;
const t = Date.now();
let c: LocalCa;
let fakeC: LocalCa;
let key: { keys: KeyPair; x5c: string[] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-signed-'));
  c = await LocalCa.loadOrCreate(join(dir, 'c'), parseTrustDomain('c.test'), { now: () => t });
  fakeC = await LocalCa.loadOrCreate(join(dir, 'fake-c'), parseTrustDomain('c.test'), { now: () => t });
  key = await signerKey(c);
});
after(() => rm(dir, { recursive: true, force: true }));

async function signerKey(ca: LocalCa): Promise<{ keys: KeyPair; x5c: string[] }> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(SpiffeId.fromParts(ca.trustDomain, ['entente', 'region-state']), keys.publicKey, 5 * MIN);
  return { keys, x5c: pemBlocks(svid.chainPem, 'CERTIFICATE').map((d) => d.toString('base64')) };
}

/** Signs as signRegionState does (same payload bytes for the same state), with a chosen key and iat. */
async function signed(state: RegionState, iat: number, k = key): Promise<string> {
  const enc = (o: unknown) => Buffer.from(stringifyJson(o as never)).toString('base64url');
  const input = `${enc({ alg: 'ES256', typ: REGION_STATE_TYP, x5c: k.x5c, iat })}.${enc(state)}`;
  const sig = await webcrypto.subtle.sign(EC_P256_SHA256, k.keys.privateKey, Buffer.from(input, 'ascii'));
  return `${input}.${Buffer.from(new Uint8Array(sig)).toString('base64url')}`;
}

function stateOf(version: number, over: Partial<RegionState> = {}): RegionState {
  return {
    region: 'c',
    trustDomain: 'c.test',
    version,
    generatedAt: new Date(version).toISOString(),
    bundle: toWireBundle(c.bundle()),
    gateways: ['10.0.3.1:15443'],
    exportedServices: [],
    policyDigest: 'sha256:1',
    healthy: true,
    ...over,
  };
}

function offer(jws: string, held: HeldRegionState | undefined, anchor: TrustBundle, signers: SignerCache, now = t): OfferDecision {
  return decideOffer({ jws, via: 'b', ownRegion: 'a', peerFor: (r) => (r === 'c' ? { region: 'c', trustDomain: 'c.test' } : undefined), held: () => held, anchor: () => anchor, now, signers });
}

const kind = (d: OfferDecision): string => ('reason' in d ? `${d.kind}: ${d.reason}` : d.kind);

test('the fast path: a re-sign is a refresh with the newer signedAt and the held state and bundle reused; refusals stay refusals', async () => {
  const signers = new SignerCache();
  const first = offer(await signed(stateOf(1), t), undefined, c.bundle(), signers);
  assert.equal(first.kind, 'accept');
  const held = (first as { held: HeldRegionState }).held;
  const anchor = held.bundle; // what FederationState.anchor() returns once C's state is held
  const hitsBefore = signers.hits;

  const resigned = await signed(stateOf(1), t + 1000);
  const r = offer(resigned, held, anchor, signers, t + 1000);
  assert.equal(r.kind, 'refresh', kind(r));
  if (r.kind !== 'refresh') return;
  assert.equal(r.held.signedAt, t + 1000);
  assert.equal(r.held.jws, resigned);
  assert.equal(r.held.state, held.state, 'the held state, not a new parse');
  assert.equal(r.held.bundle, held.bundle, 'the held bundle: the anchor stays the same object');
  assert.equal(r.held.via, 'b');
  assert.equal(signers.hits, hitsBefore + 1, 'the signer chain came from the cache');

  const [h, p] = resigned.split('.') as [string, string];
  const cases: [string, string, RegExp, TrustBundle?, number?][] = [
    ['a signature of other bytes', `${h}.${p}.${held.jws.split('.')[2]!}`, /^reject: .*tampered/],
    ['a different payload under the same version', await signed(stateOf(1, { gateways: ['6.6.6.6:443'] }), t + 2000), /^reject: version 1 was already seen with different content/],
    ['an older iat', await signed(stateOf(1), t - 1000), /^unchanged$/],
    ['the same iat', await signed(stateOf(1), t), /^unchanged$/],
    ['a signer chain past its notAfter', await signed(stateOf(1), t + 10 * MIN), /^reject: .*EXPIRED/, undefined, t + 10 * MIN],
    ['an anchor that no longer trusts the signer', resigned, /^reject: .*UNTRUSTED_CHAIN/, fakeC.bundle()],
    ['the same payload from a key of another CA', await signed(stateOf(1), t + 3000, await signerKey(fakeC)), /^reject: .*UNTRUSTED_CHAIN/],
  ];
  for (const [what, jws, want, otherAnchor, now] of cases) assert.match(kind(offer(jws, held, otherAnchor ?? anchor, signers, now ?? t + 5000)), want, what);

  // The same keys in a new bundle object (an operator's file re-read, say): verified again in full, and still a refresh.
  const misses = signers.misses;
  assert.equal(offer(resigned, held, parseBundleJson(bundleToJson(c.bundle()), 'c.test'), signers, t + 1000).kind, 'refresh');
  assert.equal(signers.misses, misses + 1);
});
