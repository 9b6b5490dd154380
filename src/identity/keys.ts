// ECDSA P-256 key pairs (WebCrypto) and their PEM forms. Keys are generated
// where they are used: workload keys on the agent's node, never sent anywhere.
import { webcrypto } from 'node:crypto';
import { derToPem, pemBlocks } from './pem.js';
import { EntenteError } from '../core/errors.js';


export const EC_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export type CryptoKey = webcrypto.CryptoKey;
export type KeyPair = webcrypto.CryptoKeyPair;

export async function generateKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return derToPem(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function publicKeyToPem(key: CryptoKey): Promise<string> {
  return derToPem(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

/** Imports a PKCS#8 P-256 private key PEM with its public half. */
export async function importKeyPairPem(privatePem: string): Promise<KeyPair> {
  const der = pemBlocks(privatePem, 'PRIVATE KEY')[0];
  if (!der) throw new EntenteError('BAD_KEY', 'no PKCS#8 "PRIVATE KEY" PEM block found', { hint: 'expected an ECDSA P-256 key in PKCS#8 PEM' });
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', der, EC_P256_SHA256, true, ['sign']);
  // Derive the public key through JWK: drop the private scalar.
  const jwk = await subtle.exportKey('jwk', privateKey);
  delete jwk.d;
  jwk.key_ops = ['verify'];
  const publicKey = await subtle.importKey('jwk', jwk, EC_P256_SHA256, true, ['verify']);
  return { privateKey, publicKey };
}
