// A region's certificate authority: an ECDSA P-256 root created on first start
// and kept on disk (key 0600, atomic writes), which signs short-lived
// X.509-SVIDs. Keys of workloads never reach it: it signs public keys (CSRs).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { x509 } from './x509-lib.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { derToPem } from './pem.js';
import { EntenteError } from '../core/errors.js';
import { EC_P256_SHA256, generateKeyPair, importKeyPairPem, privateKeyToPem, type CryptoKey, type KeyPair } from './keys.js';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';
import type { TrustBundle } from './trust-bundle.js';

export interface IssuedSvid {
  readonly spiffeId: SpiffeId;
  /** Leaf PEM. */
  readonly certPem: string;
  /** Leaf followed by any intermediates, PEM (what a TLS peer presents). */
  readonly chainPem: string;
  readonly notAfter: Date;
}

export interface LocalCaOptions {
  readonly now?: () => number;
  /** Validity of a new root; default 365 days. */
  readonly rootTtlMs?: number;
  readonly refreshHintSeconds?: number;
}

const DAY_MS = 86_400_000;
/** Certificates start slightly in the past to absorb clock skew between nodes. */
const BACKDATE_MS = 60_000;

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return b.toString('hex');
}

export class LocalCa {
  private constructor(
    readonly trustDomain: TrustDomain,
    private readonly keys: KeyPair,
    readonly caCertPem: string,
    private readonly now: () => number,
    private readonly refreshHintSeconds: number,
    private readonly sequence: number,
  ) {}

  /** Loads the CA from `dir`, or creates it there on first start. */
  static async loadOrCreate(dir: string, trustDomain: TrustDomain, opts: LocalCaOptions = {}): Promise<LocalCa> {
    const now = opts.now ?? Date.now;
    const keyPath = join(dir, 'ca.key');
    const certPath = join(dir, 'ca.crt');
    const refresh = opts.refreshHintSeconds ?? 300;
    if (existsSync(keyPath) && existsSync(certPath)) {
      const [keyPem, certPem] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
      const keys = await importKeyPairPem(keyPem).catch((err: unknown) => {
        throw new EntenteError('CA_KEY_UNREADABLE', `CA key ${keyPath} cannot be loaded`, { cause: err, hint: 'restore it from backup or remove both ca.key and ca.crt to create a new CA (every SVID must then be reissued)' });
      });
      const cert = new X509Certificate(certPem);
      const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
      if (uri !== `spiffe://${trustDomain}`) {
        throw new EntenteError('CA_TRUST_DOMAIN_MISMATCH', `CA in ${dir} belongs to ${uri ?? 'an unknown trust domain'}, not spiffe://${trustDomain}`, {
          hint: 'the config names a different trust domain than the CA on disk; use the right data directory',
        });
      }
      return new LocalCa(trustDomain, keys, certPem, now, refresh, Math.floor(new Date(cert.validFrom).getTime() / 1000));
    }
    const keys = await generateKeyPair();
    const t = now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `O=Entente, CN=Entente CA ${trustDomain}`,
      notBefore: new Date(t - BACKDATE_MS),
      notAfter: new Date(t + (opts.rootTtlMs ?? 365 * DAY_MS)),
      signingAlgorithm: EC_P256_SHA256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const certPem = derToPem(cert.rawData, 'CERTIFICATE');
    // Key first: a crash between the two writes leaves a key without a cert,
    // which the next start would overwrite; never a cert without its key.
    await writeFileAtomic(keyPath, await privateKeyToPem(keys.privateKey), 0o600);
    await writeFileAtomic(certPath, certPem, 0o644);
    return new LocalCa(trustDomain, keys, certPem, now, refresh, Math.floor(t / 1000));
  }

  /** This trust domain's bundle (the root is the only authority for now). */
  bundle(): TrustBundle {
    return { trustDomain: this.trustDomain, x509Authorities: [this.caCertPem], sequence: BigInt(this.sequence), refreshHintSeconds: this.refreshHintSeconds };
  }

  /** Signs an X.509-SVID for `spiffeId` over `publicKey` (SPIFFE X509-SVID rules: one URI SAN, not a CA). */
  async issue(spiffeId: SpiffeId, publicKey: CryptoKey, ttlMs: number): Promise<IssuedSvid> {
    if (spiffeId.trustDomain !== this.trustDomain) {
      throw new EntenteError('FOREIGN_TRUST_DOMAIN', `CA of ${this.trustDomain} cannot sign ${spiffeId}`, { hint: 'each region signs only its own trust domain' });
    }
    const t = this.now();
    const caCert = new x509.X509Certificate(this.caCertPem);
    const notAfter = new Date(Math.min(t + ttlMs, caCert.notAfter.getTime()));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: 'O=Entente',
      issuer: caCert.subject,
      notBefore: new Date(t - BACKDATE_MS),
      notAfter,
      signingAlgorithm: EC_P256_SHA256,
      publicKey,
      signingKey: this.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId.toString() }], true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ],
    });
    const certPem = derToPem(cert.rawData, 'CERTIFICATE');
    return { spiffeId, certPem, chainPem: certPem, notAfter };
  }

  /** Signs the public key of a CSR after checking its proof of possession; the SAN comes from `spiffeId`, not the CSR. */
  async issueFromCsr(csrPem: string, spiffeId: SpiffeId, ttlMs: number): Promise<IssuedSvid> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new EntenteError('BAD_CSR', 'certificate request is not a PKCS#10 PEM', { cause: err });
    }
    if (!(await csr.verify())) throw new EntenteError('BAD_CSR', 'certificate request signature does not verify (no proof of key possession)');
    const alg = csr.publicKey.algorithm as { name: string; namedCurve?: string };
    if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
      throw new EntenteError('BAD_CSR', `certificate request key is ${alg.name} ${alg.namedCurve ?? ''}`.trim(), { hint: 'expected an ECDSA P-256 key' });
    }
    return this.issue(spiffeId, await csr.publicKey.export(EC_P256_SHA256, ['verify']), ttlMs);
  }
}
