// Signed region states: a compact JWS (ES256, RFC 7515) whose x5c header
// carries an SVID of spiffe://<td>/entente/region-state issued by the region's
// CA. A receiver accepts it only if that chain leads to a key of the bundle it
// already holds for the region, so a region relaying another's state cannot
// forge or alter it, and a bundle rotation is accepted only when signed by a
// key of the previous bundle.
import { X509Certificate, verify as cryptoVerify } from 'node:crypto';
import { webcrypto } from 'node:crypto';
import { EC_P256_SHA256, generateKeyPair } from './keys.js';
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
  const keys = await generateKeyPair();
  const id = SpiffeId.fromParts(signer.trustDomain, [...REGION_STATE_SIGNER_SEGMENTS]);
  const svid = await signer.issue(id, keys.publicKey, SIGNER_TTL_MS);
  const x5c = pemBlocks(svid.chainPem, 'CERTIFICATE').map((d) => d.toString('base64'));
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
export function verifyRegionState(jws: string, previousBundle: TrustBundle, nowMs: number = Date.now()): RegionStateVerification {
  const no = (reason: string): RegionStateVerification => ({ kind: 'invalid', reason });
  const parts = jws.split('.');
  if (parts.length !== 3) return no('not a compact JWS (three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodePart(h);
  const payloadBytes = decodePart(p);
  const sig = decodePart(s);
  if (!headerBytes || !payloadBytes || !sig) return no('a JWS part is not base64url');
  let header: StrictJson;
  let payload: StrictJson;
  try {
    header = parseStrictJson(headerBytes.toString('utf8'));
    payload = parseStrictJson(payloadBytes.toString('utf8'));
  } catch (err) {
    return no(`header or payload is not strict JSON (${(err as Error).message})`);
  }
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
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(c as string, 'base64')));
  } catch (err) {
    return no(`x5c certificate cannot be read (${(err as Error).message})`);
  }
  // Only the previous bundle of that one trust domain can vouch for the signer.
  const v = verifyX509SvidChain(chain, new BundleStore([previousBundle]), iat);
  if (v.kind !== 'valid') return no(`signer is not trusted by the previous bundle of ${previousBundle.trustDomain}: ${v.code}: ${v.reason}`);
  const expected = SpiffeId.fromParts(previousBundle.trustDomain, [...REGION_STATE_SIGNER_SEGMENTS]);
  if (!v.spiffeId.equals(expected)) return no(`signer ${v.spiffeId} may not sign region states; expected ${expected}`);
  const ok = cryptoVerify('sha256', Buffer.from(`${h}.${p}`, 'ascii'), { key: chain[0]!.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) return no('signature does not match header and payload (tampered)');
  if (!isJsonObject(payload)) return no('payload is not a JSON object');
  return { kind: 'valid', payload, signer: v.spiffeId, signedAt: new Date(iat) };
}
