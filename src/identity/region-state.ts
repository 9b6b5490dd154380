// Signed region states: a compact JWS (ES256, RFC 7515) whose x5c header
// carries an SVID of spiffe://<td>/entente/region-state issued by the region's
// CA. A receiver accepts it only if that chain leads to a key of the bundle it
// already holds for the region, so a region relaying another's state cannot
// forge or alter it, and a bundle rotation is accepted only when signed by a
// key of the previous bundle.
import { X509Certificate, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { webcrypto } from 'node:crypto';
import { EC_P256_SHA256, generateKeyPair, type KeyPair } from './keys.js';
import { SpiffeId } from './spiffe-id.js';
import { pemBlocks } from './pem.js';
import { isJsonObject, parseStrictJson, stringifyJson, type StrictJson } from './strict-json.js';
import { verifyX509SvidChain } from './verify-svid.js';
import type { LocalCa } from './local-ca.js';
import type { TrustBundle } from './trust-bundle.js';
import { BundleStore } from './bundle-store.js';

export const REGION_STATE_TYP = 'entente-region-state+jws';
/** The only identity allowed to sign a region's state: a workload SVID of the region cannot. */
export const REGION_STATE_SIGNER_SEGMENTS = ['entente', 'region-state'] as const;
/** How far in the future a signing time may lie (clock skew between regions). */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
const SIGNER_TTL_MS = 5 * 60_000;

export type RegionStateVerification =
  | { kind: 'valid'; payload: { [key: string]: StrictJson }; signer: SpiffeId; signedAt: Date }
  | { kind: 'invalid'; reason: string };

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/**
 * Signs `payload` for the CA's trust domain. A fresh key and a short-lived
 * signer SVID are made per call: the CA key itself never signs documents (its
 * key usage is keyCertSign only, X509-SVID 4.3).
 */
export async function signRegionState(payload: object, signer: LocalCa): Promise<string> {
  return signWith(payload, signer, await newSignerKey(signer));
}

/** A signing key and its signer SVID (x5c, base64 DER), with when it was made and under which bundle. */
interface SignerKey {
  readonly keys: KeyPair;
  readonly x5c: string[];
  readonly notAfterMs: number;
  readonly issuedAt: number;
  /** The CA's signing certificate and bundle sequence at issue: a change of either is a rotation step. */
  readonly issuer: string;
  readonly bundleSequence: bigint | undefined;
}

async function newSignerKey(ca: LocalCa): Promise<SignerKey> {
  const keys = await generateKeyPair();
  const id = SpiffeId.fromParts(ca.trustDomain, [...REGION_STATE_SIGNER_SEGMENTS]);
  const svid = await ca.issue(id, keys.publicKey, SIGNER_TTL_MS);
  const x5c = pemBlocks(svid.chainPem, 'CERTIFICATE').map((d) => d.toString('base64'));
  return { keys, x5c, notAfterMs: svid.notAfter.getTime(), issuedAt: ca.now(), issuer: ca.signingCertPem, bundleSequence: ca.bundle().sequence };
}

/**
 * A signer for the StateSigner: one key and signer SVID serve the signatures
 * of `reuseMs` (default half the SVID's lifetime), so a re-sign carries the same
 * x5c and receivers verify its chain from their cache instead of from scratch.
 * A new key is made sooner when the CA's signing certificate or bundle changed
 * (a rotation step: the next states must be signed under the new authority) or
 * the SVID nears its end.
 * Keeping a 5-minute signing key for minutes is no new exposure: the CA key that
 * can mint such keys lives in the same process.
 */
export function regionStateSigner(ca: LocalCa, reuseMs: number = SIGNER_TTL_MS / 2): (payload: object) => Promise<string> {
  let current: Promise<SignerKey> | undefined;
  return async (payload) => {
    const t = ca.now();
    const held = current ? await current.catch(() => undefined) : undefined;
    const usable = held && t - held.issuedAt < reuseMs && t < held.notAfterMs - SIGNER_TTL_MS / 4 && held.issuer === ca.signingCertPem && held.bundleSequence === ca.bundle().sequence;
    if (!usable) current = newSignerKey(ca);
    return signWith(payload, ca, await current!);
  };
}

async function signWith(payload: object, signer: LocalCa, key: SignerKey): Promise<string> {
  const { keys, x5c } = key;
  const header = { alg: 'ES256', typ: REGION_STATE_TYP, x5c, iat: signer.now() };
  const signingInput = `${b64url(stringifyJson(header))}.${b64url(stringifyJson(payload))}`;
  const sig = await webcrypto.subtle.sign(EC_P256_SHA256, keys.privateKey, Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${b64url(new Uint8Array(sig))}`;
}

function decodePart(part: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(part) ? Buffer.from(part, 'base64url') : undefined;
}

/**
 * Valid only when the signer chain leads to an authority in `previousBundle`
 * (the bundle this receiver already trusts for the state's region), the chain
 * was valid when the state was signed, and the signature covers header and
 * payload. Checking validity at the signing time lets a state relayed during a
 * partition stay verifiable after the short-lived signer SVID expired.
 */
export function verifyRegionState(jws: string, previousBundle: TrustBundle, nowMs: number = Date.now(), signers?: SignerCache): RegionStateVerification {
  const parts = splitJws(jws);
  if (typeof parts === 'string') return no(parts);
  let header: StrictJson;
  let payload: StrictJson;
  try {
    header = parseStrictJson(parts.headerBytes.toString('utf8'));
    payload = parseStrictJson(parts.payloadBytes.toString('utf8'));
  } catch (err) {
    return no(`header or payload is not strict JSON (${(err as Error).message})`);
  }
  const v = verifySigned(parts, header, previousBundle, nowMs, signers);
  if (v.kind === 'invalid') return v;
  if (!isJsonObject(payload)) return no('payload is not a JSON object');
  return { kind: 'valid', payload, signer: v.signer, signedAt: v.signedAt };
}

/**
 * verifyRegionState without reading the payload: every check on header, signer
 * chain and signature, for a payload the caller already holds, verified, byte
 * for byte (a re-sign of an unchanged state).
 */
export function verifyRegionStateSignature(jws: string, previousBundle: TrustBundle, nowMs: number = Date.now(), signers?: SignerCache): SignatureVerification {
  const parts = splitJws(jws);
  if (typeof parts === 'string') return no(parts);
  let header: StrictJson;
  try {
    header = parseStrictJson(parts.headerBytes.toString('utf8'));
  } catch (err) {
    return no(`header is not strict JSON (${(err as Error).message})`);
  }
  return verifySigned(parts, header, previousBundle, nowMs, signers);
}

export type SignatureVerification = { kind: 'valid'; signer: SpiffeId; signedAt: Date } | { kind: 'invalid'; reason: string };

const no = (reason: string): { kind: 'invalid'; reason: string } => ({ kind: 'invalid', reason });

interface JwsParts {
  readonly h: string;
  readonly p: string;
  readonly headerBytes: Buffer;
  readonly payloadBytes: Buffer;
  readonly sig: Buffer;
}

function splitJws(jws: string): JwsParts | string {
  const parts = jws.split('.');
  if (parts.length !== 3) return 'not a compact JWS (three dot-separated parts)';
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodePart(h);
  const payloadBytes = decodePart(p);
  const sig = decodePart(s);
  if (!headerBytes || !payloadBytes || !sig) return 'a JWS part is not base64url';
  return { h, p, headerBytes, payloadBytes, sig };
}

function verifySigned(parts: JwsParts, header: StrictJson, previousBundle: TrustBundle, nowMs: number, signers: SignerCache | undefined): SignatureVerification {
  if (!isJsonObject(header)) return no('header is not a JSON object');
  if (header.alg !== 'ES256') return no(`alg ${JSON.stringify(header.alg)} is not ES256`);
  if (header.typ !== REGION_STATE_TYP) return no(`typ ${JSON.stringify(header.typ)} is not ${REGION_STATE_TYP}`);
  if (header.crit !== undefined) return no('critical header parameters are not supported');
  const iat = header.iat;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return no('iat (signing time, ms) is missing');
  if (iat > nowMs + MAX_FUTURE_SKEW_MS) return no(`signed in the future (${new Date(iat).toISOString()})`);
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 4 || !x5c.every((c) => typeof c === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(c))) {
    return no('x5c must hold 1-4 base64 certificates');
  }
  const certs = x5c as string[];
  let trusted = signers?.get(certs, previousBundle, iat);
  if (!trusted) {
    const t = trustSigner(certs, previousBundle, iat);
    if (typeof t === 'string') return no(t);
    trusted = t;
    signers?.set(certs, previousBundle, t);
  }
  const ok = cryptoVerify('sha256', Buffer.from(`${parts.h}.${parts.p}`, 'ascii'), { key: trusted.key, dsaEncoding: 'ieee-p1363' }, parts.sig);
  if (!ok) return no('signature does not match header and payload (tampered)');
  return { kind: 'valid', signer: trusted.spiffeId, signedAt: new Date(iat) };
}

/** The full check of a signer chain at `iat`: X.509 parsing, path validation against the one bundle, the signer's SPIFFE ID. */
function trustSigner(x5c: readonly string[], previousBundle: TrustBundle, iat: number): TrustedSigner | string {
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch (err) {
    return `x5c certificate cannot be read (${(err as Error).message})`;
  }
  // Only the previous bundle of that one trust domain can vouch for the signer.
  const v = verifyX509SvidChain(chain, new BundleStore([previousBundle]), iat);
  if (v.kind !== 'valid') return `signer is not trusted by the previous bundle of ${previousBundle.trustDomain}: ${v.code}: ${v.reason}`;
  const expected = SpiffeId.fromParts(previousBundle.trustDomain, [...REGION_STATE_SIGNER_SEGMENTS]);
  if (!v.spiffeId.equals(expected)) return `signer ${v.spiffeId} may not sign region states; expected ${expected}`;
  // The verifier does not say when the bundle authority became valid, only that it was at iat: so the
  // interval starts no earlier than this iat, and ends at the earliest notAfter of the path.
  const fromMs = Math.max(iat, ...chain.map((c) => Date.parse(c.validFrom)));
  const untilMs = Math.min(v.pathNotAfter.getTime(), ...chain.map((c) => Date.parse(c.validTo)));
  return { key: chain[0]!.publicKey, spiffeId: v.spiffeId, fromMs, untilMs };
}

/** A signer chain that verified: its leaf key, and the signing times for which that verification holds. */
interface TrustedSigner {
  readonly key: KeyObject;
  readonly spiffeId: SpiffeId;
  readonly fromMs: number;
  readonly untilMs: number;
}

/**
 * Signer chains that verified, so a region's re-signs (same x5c, new iat) cost
 * one ES256 check instead of X.509 parsing and path validation. An entry holds
 * only for the bundle object it was verified against (a new anchor, even with
 * the same keys, verifies afresh) and for signing times inside the chain's
 * validity; only successes are kept, so a refusal is always decided in full.
 * Bounded: past `maxEntries` the oldest entry goes.
 */
export class SignerCache {
  private readonly entries = new Map<string, { anchor: TrustBundle; signer: TrustedSigner }>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 1024) {}

  get size(): number {
    return this.entries.size;
  }

  get(x5c: readonly string[], anchor: TrustBundle, iat: number): TrustedSigner | undefined {
    const e = this.entries.get(x5c.join(' '));
    const hit = e !== undefined && e.anchor === anchor && iat >= e.signer.fromMs && iat <= e.signer.untilMs;
    if (hit) this.hits++;
    else this.misses++;
    return hit ? e.signer : undefined;
  }

  set(x5c: readonly string[], anchor: TrustBundle, signer: TrustedSigner): void {
    const key = x5c.join(' ');
    // An entry whose interval starts later (verified at a later iat) is widened back only by a full check: keep the earliest start.
    const prev = this.entries.get(key);
    const kept = prev && prev.anchor === anchor ? { ...signer, fromMs: Math.min(prev.signer.fromMs, signer.fromMs) } : signer;
    this.entries.delete(key);
    this.entries.set(key, { anchor, signer: kept });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
