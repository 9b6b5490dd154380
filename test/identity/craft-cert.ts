// Test-only certificate factory: builds X.509 certificates that break exactly
// one SVID rule at a time (or none), so each verifier rule has a witness.
import { X509Certificate, randomBytes } from 'node:crypto';
import { x509 } from '../../src/identity/x509-lib.js';
import { EC_P256_SHA256, generateKeyPair, type KeyPair } from '../../src/identity/keys.js';
import { derToPem } from '../../src/identity/pem.js';

export interface Crafted {
  readonly cert: x509.X509Certificate;
  readonly node: X509Certificate;
  readonly pem: string;
  readonly keys: KeyPair;
}

export interface CraftOptions {
  /** Distinguished name; '' for an empty subject. Default "O=Test, CN=<random>". */
  subject?: string;
  /** Signer; self-signed when absent. */
  issuer?: Crafted;
  keys?: KeyPair;
  notBefore?: Date;
  notAfter?: Date;
  uris?: string[];
  dns?: string[];
  /** Raw extra GeneralName DER items appended to the SAN (e.g. otherName). */
  rawSanItems?: Uint8Array[];
  sanCritical?: boolean;
  /** undefined: no basicConstraints extension. */
  ca?: boolean;
  pathLength?: number;
  /** undefined: no key usage extension. */
  keyUsage?: number;
  keyUsageCritical?: boolean;
  /** undefined: no EKU extension. */
  eku?: string[];
  extra?: x509.Extension[];
  /** Emit the SAN extension twice (a duplicate extension). */
  duplicateSan?: boolean;
}

export const KU = x509.KeyUsageFlags;
export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2', codeSigning: '1.3.6.1.5.5.7.3.3' };
export const HOUR = 3_600_000;

function der(tag: number, content: Uint8Array): Uint8Array {
  const len = content.length;
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  return Uint8Array.from([...head, ...content]);
}

function sanValue(o: CraftOptions): Uint8Array {
  const items: Uint8Array[] = [
    ...(o.uris ?? []).map((u) => der(0x86, Buffer.from(u, 'latin1'))),
    ...(o.dns ?? []).map((d) => der(0x82, Buffer.from(d, 'latin1'))),
    ...(o.rawSanItems ?? []),
  ];
  return der(0x30, Uint8Array.from(items.flatMap((i) => [...i])));
}

/** An otherName GeneralName (a type the X.509 library cannot parse) to test tolerance. */
export function otherNameItem(): Uint8Array {
  // [0] { OID 1.3.6.1.4.1.311.20.2.3 (UPN), [0] { UTF8String "x" } }
  const oid = Uint8Array.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03]);
  const val = der(0xa0, der(0x0c, Buffer.from('x')));
  return der(0xa0, Uint8Array.from([...oid, ...val]));
}

/** A nameConstraints value permitting URIs in the given host (DER by hand: the library has no class for it). */
export function nameConstraintsValue(host: string): Uint8Array {
  const subtree = der(0x30, der(0x86, Buffer.from(host)));
  return der(0x30, der(0xa0, subtree));
}

export async function craft(o: CraftOptions = {}): Promise<Crafted> {
  const keys = o.keys ?? (await generateKeyPair());
  const now = Date.now();
  const extensions: x509.Extension[] = [];
  if (o.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(o.ca, o.pathLength, true));
  if (o.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(o.keyUsage, o.keyUsageCritical ?? true));
  if (o.eku !== undefined) extensions.push(new x509.ExtendedKeyUsageExtension(o.eku, false));
  if (o.uris || o.dns || o.rawSanItems) {
    const san = new x509.Extension('2.5.29.17', o.sanCritical ?? false, sanValue(o));
    extensions.push(san);
    if (o.duplicateSan) extensions.push(new x509.Extension('2.5.29.17', false, sanValue({ uris: ['spiffe://evil.test/x'] })));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (o.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(o.issuer.cert, false));
  extensions.push(...(o.extra ?? []));
  const subject = o.subject ?? `O=Test, CN=${randomBytes(4).toString('hex')}`;
  const serialNumber = '01' + randomBytes(8).toString('hex');
  const notBefore = o.notBefore ?? new Date(now - 60_000);
  const notAfter = o.notAfter ?? new Date(now + HOUR);
  const cert = o.issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber,
        subject,
        issuer: o.issuer.cert.subject,
        notBefore,
        notAfter,
        signingAlgorithm: EC_P256_SHA256,
        publicKey: keys.publicKey,
        signingKey: o.issuer.keys.privateKey,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ serialNumber, name: subject, notBefore, notAfter, signingAlgorithm: EC_P256_SHA256, keys, extensions });
  const pem = derToPem(cert.rawData, 'CERTIFICATE');
  return { cert, node: new X509Certificate(pem), pem, keys };
}

/** A spec-conformant root CA SVID for `td`. */
export function craftRoot(td: string, o: CraftOptions = {}): Promise<Crafted> {
  return craft({ subject: `O=Test, CN=root ${td}`, ca: true, keyUsage: KU.keyCertSign | KU.cRLSign, uris: [`spiffe://${td}`], ...o });
}

/** A spec-conformant intermediate CA SVID for `td` signed by `issuer`. */
export function craftIntermediate(td: string, issuer: Crafted, o: CraftOptions = {}): Promise<Crafted> {
  return craft({ subject: `O=Test, CN=intermediate ${td} ${randomBytes(2).toString('hex')}`, issuer, ca: true, keyUsage: KU.keyCertSign, uris: [`spiffe://${td}`], ...o });
}

/** A spec-conformant leaf SVID signed by `issuer`. */
export function craftLeaf(id: string, issuer: Crafted, o: CraftOptions = {}): Promise<Crafted> {
  return craft({ issuer, ca: false, keyUsage: KU.digitalSignature, eku: [EKU.serverAuth, EKU.clientAuth], uris: [id], ...o });
}
