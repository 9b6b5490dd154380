// PKCS#10 certificate requests (RFC 2986) for an ECDSA P-256 key, written as
// DER directly: the agent makes one per SVID, and an X.509 library for this
// would cost it ~10 MB of memory (docs/dataplane.md "Footprint").
import { KeyObject, sign, webcrypto } from 'node:crypto';
import { derToPem } from './pem.js';

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]);
}

const seq = (...c: Uint8Array[]): Buffer => tlv(0x30, ...c);
const set = (...c: Uint8Array[]): Buffer => tlv(0x31, ...c);
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

const OID_ORGANIZATION = hex('060355040a'); // 2.5.4.10
const OID_EXTENSION_REQUEST = hex('06092a864886f70d01090e'); // 1.2.840.113549.1.9.14 (PKCS#9)
const OID_SUBJECT_ALT_NAME = hex('0603551d11'); // 2.5.29.17
const ECDSA_WITH_SHA256 = seq(hex('06082a8648ce3d040302')); // 1.2.840.10045.4.3.2, no parameters

/** A PKCS#10 request with subject O=Entente and `uri` as its only SAN, signed by `keys.privateKey`. */
export async function createCsrDer(keys: webcrypto.CryptoKeyPair, uri: string): Promise<Buffer> {
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  const subject = seq(set(seq(OID_ORGANIZATION, tlv(0x0c, Buffer.from('Entente', 'utf8')))));
  const san = seq(OID_SUBJECT_ALT_NAME, tlv(0x04, seq(tlv(0x86, Buffer.from(uri, 'latin1')))));
  const attributes = tlv(0xa0, seq(OID_EXTENSION_REQUEST, set(seq(san))));
  const info = seq(hex('020100'), subject, spki, attributes);
  const signature = sign('sha256', info, { key: KeyObject.from(keys.privateKey), dsaEncoding: 'der' });
  return seq(info, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
}

export async function createCsrPem(keys: webcrypto.CryptoKeyPair, uri: string): Promise<string> {
  return derToPem(await createCsrDer(keys, uri), 'CERTIFICATE REQUEST');
}
