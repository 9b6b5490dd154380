// A region's certificate authority. Either a self-managed ECDSA P-256 root kept
// on disk (keys 0600, directory 0700, atomic writes) that rotates with overlap
// (ca-rotation.ts), or an intermediate of the operator's PKI (upstream-ca.ts).
// It signs short-lived X.509-SVIDs over public keys: workload keys never reach it.
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { x509 } from './x509-lib.js';
import { derToPem } from './pem.js';
import { EntenteError } from '../core/errors.js';
import { EC_P256_SHA256, generateKeyPair, importKeyPairPem, privateKeyToPem, type CryptoKey, type KeyPair } from './keys.js';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';
import type { TrustBundle } from './trust-bundle.js';
import { activeAuthority, nextSequence, planCaRotation, type CaAuthorityRecord, type CaState, type RotationAction, type RotationPolicy } from './ca-rotation.js';
import { deleteAuthorityFiles, ensureCaDir, migrateLegacyLayout, readAuthority, readCaState, writeAuthorityFiles, writeCaState } from './ca-store.js';
import { loadUpstreamCa, type UpstreamCa, type UpstreamCaFiles } from './upstream-ca.js';

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
  /** Validity of a new self-managed root; default 365 days. */
  readonly rootTtlMs?: number;
  /** spiffe_refresh_hint of the bundle; default 300 s. */
  readonly refreshHintSeconds?: number;
  /** Default SVID lifetime; default 1 h, at least 5 min. */
  readonly svidTtlMs?: number;
  /** Longest SVID lifetime issue() grants (longer requests are shortened); default max(24 h, svidTtlMs). */
  readonly maxSvidTtlMs?: number;
  /** A new root is published this many refresh hints before it signs; default 3, at least 3. */
  readonly prepublishFactor?: number;
  /** Run as an intermediate of the operator's PKI instead of a self-managed root. */
  readonly upstream?: UpstreamCaFiles;
  /** Apply due rotation steps at load (default). A controller replica that follows its leader's CA passes false: only the leader rotates. */
  readonly maintain?: boolean;
}

export const MIN_SVID_TTL_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Certificates start slightly in the past to absorb clock skew between nodes. */
const BACKDATE_MS = 60_000;

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, never a leading zero byte
  return b.toString('hex');
}

interface Signer {
  readonly keys: KeyPair;
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  /** Sent after the leaf. */
  readonly intermediatesPem: readonly string[];
  /** The bundle authority this signer chains to. */
  readonly anchorPem: string;
  readonly notAfterMs: number;
}

type Mode =
  | { kind: 'root'; dir: string; state: CaState; loaded: Map<string, Signer> }
  | { kind: 'upstream'; upstream: UpstreamCa; signer: Signer; sequence: bigint };

export class LocalCa {
  private readonly listeners = new Set<(b: TrustBundle) => void>();
  private maintaining: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly trustDomain: TrustDomain,
    private mode: Mode,
    /** The CA's clock (injectable for tests); issuance and rotation decide with it. */
    readonly now: () => number,
    private readonly policy: RotationPolicy,
    private readonly rootTtlMs: number,
    /** Default SVID lifetime. */
    readonly svidTtlMs: number,
  ) {}

  /** Loads the CA from `dir`, or creates it there on first start; then applies any due rotation step. */
  static async loadOrCreate(dir: string, trustDomain: TrustDomain, opts: LocalCaOptions = {}): Promise<LocalCa> {
    const now = opts.now ?? Date.now;
    const svidTtlMs = opts.svidTtlMs ?? HOUR_MS;
    if (svidTtlMs < MIN_SVID_TTL_MS) throw new EntenteError('SVID_TTL_TOO_SHORT', `SVID TTL ${svidTtlMs} ms is below 5 minutes`, { hint: 'set svidTtl to "5m" or more' });
    const maxSvidTtlMs = Math.max(opts.maxSvidTtlMs ?? DAY_MS, svidTtlMs);
    const prepublishFactor = opts.prepublishFactor ?? 3;
    if (prepublishFactor < 3) throw new EntenteError('BAD_CA_OPTIONS', `prepublishFactor ${prepublishFactor} is below 3`, { hint: 'SPIFFE Federation 4.1 recommends publishing new keys 3-5 refresh hints ahead' });
    const policy: RotationPolicy = { refreshHintSeconds: opts.refreshHintSeconds ?? 300, prepublishFactor, maxSvidTtlMs, skewMs: BACKDATE_MS };
    const rootTtlMs = opts.rootTtlMs ?? 365 * DAY_MS;

    if (opts.upstream) {
      const upstream = await loadUpstreamCa(opts.upstream, trustDomain, now());
      const signer: Signer = {
        keys: upstream.keys,
        cert: new x509.X509Certificate(upstream.certPem),
        certPem: upstream.certPem,
        intermediatesPem: upstream.intermediatesPem,
        anchorPem: upstream.anchorsPem[0]!,
        notAfterMs: upstream.notAfterMs,
      };
      // The anchor is the operator's: its bundle changes only with a new process, so a time-based sequence grows.
      return new LocalCa(trustDomain, { kind: 'upstream', upstream, signer, sequence: nextSequence(0n, now()) }, now, policy, rootTtlMs, svidTtlMs);
    }

    await ensureCaDir(dir);
    let state = (await readCaState(dir)) ?? (await migrateLegacyLayout(dir, trustDomain));
    state ??= { version: 1, trustDomain, sequence: 0n, authorities: [] };
    if (state.trustDomain !== trustDomain) {
      throw new EntenteError('CA_TRUST_DOMAIN_MISMATCH', `CA in ${dir} belongs to ${state.trustDomain}, not ${trustDomain}`, {
        hint: 'the config names a different trust domain than the CA on disk; use the right data directory',
      });
    }
    const loaded = new Map<string, Signer>();
    for (const record of state.authorities) loaded.set(record.id, await loadRootSigner(dir, record, trustDomain));
    const ca = new LocalCa(trustDomain, { kind: 'root', dir, state, loaded }, now, policy, rootTtlMs, svidTtlMs);
    if (opts.maintain !== false) await ca.maintain();
    return ca;
  }

  /** The trust anchor of the current signer: the self-managed root, or the operator's root. */
  get caCertPem(): string {
    return this.signer().anchorPem;
  }

  /** The certificate that signs SVIDs now (equals caCertPem for a self-managed root). */
  get signingCertPem(): string {
    return this.signer().certPem;
  }

  /** This trust domain's bundle: every published authority (during rotation, old and new). */
  bundle(): TrustBundle {
    const m = this.mode;
    if (m.kind === 'upstream') {
      return { trustDomain: this.trustDomain, x509Authorities: m.upstream.anchorsPem, sequence: m.sequence, refreshHintSeconds: this.policy.refreshHintSeconds, jwtAuthorities: [] };
    }
    const authorities = [...m.state.authorities].sort((a, b) => a.activeFromMs - b.activeFromMs).map((a) => m.loaded.get(a.id)!.anchorPem);
    return { trustDomain: this.trustDomain, x509Authorities: authorities, sequence: m.state.sequence, refreshHintSeconds: this.policy.refreshHintSeconds, jwtAuthorities: [] };
  }

  /** The self-managed authorities and their timeline (empty in upstream mode). */
  authorities(): readonly CaAuthorityRecord[] {
    return this.mode.kind === 'root' ? this.mode.state.authorities : [];
  }

  /** Called with the new bundle whenever it changes (a key published or removed). */
  onBundleChange(listener: (b: TrustBundle) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Applies due rotation steps (publish the next key, drop retired ones) and
   * persists them; returns what it did. Call it periodically, e.g. every
   * refresh hint; `rotateNow` starts a rotation at once (suspected compromise
   * still waits out the prepublish period so peers learn the new key first).
   */
  maintain(opts: { rotateNow?: boolean } = {}): Promise<RotationAction[]> {
    const run = this.maintaining.then(() => this.maintainNow(opts));
    this.maintaining = run.catch(() => undefined);
    return run;
  }

  /**
   * Re-reads the CA from its directory, where a controller replica's leader
   * wrote a newer one (docs/operations.md "Controller replicas"): loads new
   * authorities, drops removed ones, and tells the listeners when the bundle
   * changed. Serialised with maintain(). Returns whether the bundle changed.
   */
  reload(): Promise<boolean> {
    const run = this.maintaining.then(async () => {
      const m = this.mode;
      if (m.kind !== 'root') return false;
      const state = await readCaState(m.dir);
      if (!state) return false;
      if (state.trustDomain !== this.trustDomain) throw new EntenteError('CA_TRUST_DOMAIN_MISMATCH', `CA in ${m.dir} belongs to ${state.trustDomain}, not ${this.trustDomain}`);
      const loaded = new Map<string, Signer>();
      for (const r of state.authorities) loaded.set(r.id, m.loaded.get(r.id) ?? (await loadRootSigner(m.dir, r, this.trustDomain)));
      const changed = state.sequence !== m.state.sequence || state.authorities.length !== m.state.authorities.length;
      this.mode = { ...m, state, loaded };
      if (changed) {
        const b = this.bundle();
        for (const l of [...this.listeners]) l(b);
      }
      return changed;
    });
    this.maintaining = run.catch(() => undefined);
    return run;
  }

  /** The directory of a self-managed CA (undefined in upstream mode). */
  get directory(): string | undefined {
    return this.mode.kind === 'root' ? this.mode.dir : undefined;
  }

  /** Calls maintain() every `intervalMs` (timer unref'd); returns the stop function. */
  startMaintenance(intervalMs: number, onError: (err: unknown) => void = () => undefined): () => void {
    const t = setInterval(() => void this.maintain().catch(onError), intervalMs);
    t.unref();
    return () => clearInterval(t);
  }

  /** Signs an X.509-SVID for `spiffeId` over `publicKey` (X509-SVID rules: one URI SAN, not a CA). */
  async issue(spiffeId: SpiffeId, publicKey: CryptoKey, ttlMs: number = this.svidTtlMs): Promise<IssuedSvid> {
    if (spiffeId.trustDomain !== this.trustDomain) {
      throw new EntenteError('FOREIGN_TRUST_DOMAIN', `CA of ${this.trustDomain} cannot sign ${spiffeId}`, { hint: 'each region signs only its own trust domain' });
    }
    if (spiffeId.isTrustDomainId) throw new EntenteError('BAD_SPIFFE_ID', `${spiffeId} has no path; an X.509-SVID leaf needs one`, { hint: 'e.g. spiffe://td/ns/<namespace>/sa/<account>' });
    if (!(ttlMs >= MIN_SVID_TTL_MS)) throw new EntenteError('SVID_TTL_TOO_SHORT', `SVID TTL ${ttlMs} ms is below 5 minutes`, { hint: 'request at least 5 minutes' });
    const t = this.now();
    const signer = this.signer();
    const notAfter = new Date(Math.min(t + Math.min(ttlMs, this.policy.maxSvidTtlMs), signer.notAfterMs));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: 'O=Entente',
      issuer: signer.cert.subject,
      notBefore: new Date(t - BACKDATE_MS),
      notAfter,
      signingAlgorithm: EC_P256_SHA256,
      publicKey,
      signingKey: signer.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId.toString() }], true),
        await x509.AuthorityKeyIdentifierExtension.create(signer.cert, false),
      ],
    });
    const certPem = derToPem(cert.rawData, 'CERTIFICATE');
    // The certificate keeps whole seconds; report what it says.
    return { spiffeId, certPem, chainPem: certPem + signer.intermediatesPem.join(''), notAfter: cert.notAfter };
  }

  /** Signs the public key of a CSR after checking its proof of possession; the SAN comes from `spiffeId`, not the CSR. */
  async issueFromCsr(csrPem: string, spiffeId: SpiffeId, ttlMs: number = this.svidTtlMs): Promise<IssuedSvid> {
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

  private signer(): Signer {
    const m = this.mode;
    if (m.kind === 'upstream') return m.signer;
    const active = activeAuthority(m.state, this.now());
    if (!active) throw new EntenteError('CA_NO_SIGNER', `CA of ${this.trustDomain} has no valid signing key now`, { hint: 'call maintain() regularly; the CA certificate may have expired while the controller was down' });
    return m.loaded.get(active.id)!;
  }

  private async maintainNow(opts: { rotateNow?: boolean }): Promise<RotationAction[]> {
    const m = this.mode;
    if (m.kind !== 'root') return [];
    const nowMs = this.now();
    const actions = planCaRotation(m.state, nowMs, this.policy, opts);
    if (actions.length === 0) return [];
    let authorities = [...m.state.authorities];
    const removed: CaAuthorityRecord[] = [];
    for (const a of actions) {
      if (a.kind === 'remove') {
        removed.push(...authorities.filter((r) => r.id === a.id));
        authorities = authorities.filter((r) => r.id !== a.id);
        continue;
      }
      const activeFromMs = a.kind === 'bootstrap' ? nowMs : a.activeFromMs;
      const { record, signer } = await createRoot(m.dir, this.trustDomain, nowMs, activeFromMs, this.rootTtlMs);
      m.loaded.set(record.id, signer);
      authorities.push(record);
    }
    const state: CaState = { ...m.state, sequence: nextSequence(m.state.sequence, nowMs), authorities };
    await writeCaState(m.dir, state); // the commit point
    this.mode = { ...m, state };
    for (const r of removed) {
      m.loaded.delete(r.id);
      await deleteAuthorityFiles(m.dir, r);
    }
    const b = this.bundle();
    for (const l of [...this.listeners]) l(b);
    return actions;
  }
}

async function loadRootSigner(dir: string, record: CaAuthorityRecord, td: TrustDomain): Promise<Signer> {
  const files = await readAuthority(dir, record);
  const keys = await importKeyPairPem(files.keyPem).catch((err: unknown) => {
    throw new EntenteError('CA_KEY_UNREADABLE', `CA key ${join(dir, record.keyFile)} cannot be loaded`, { cause: err, hint: 'restore it from backup' });
  });
  const node = new X509Certificate(files.certPem);
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(node.subjectAltName ?? '')?.[1];
  if (uri !== `spiffe://${td}`) {
    throw new EntenteError('CA_TRUST_DOMAIN_MISMATCH', `CA certificate ${record.certFile} in ${dir} belongs to ${uri ?? 'an unknown trust domain'}, not spiffe://${td}`, {
      hint: 'the config names a different trust domain than the CA on disk; use the right data directory',
    });
  }
  return { keys, cert: new x509.X509Certificate(files.certPem), certPem: files.certPem, intermediatesPem: [], anchorPem: files.certPem, notAfterMs: new Date(node.validTo).getTime() };
}

async function createRoot(dir: string, td: TrustDomain, nowMs: number, activeFromMs: number, ttlMs: number): Promise<{ record: CaAuthorityRecord; signer: Signer }> {
  const keys = await generateKeyPair();
  const id = randomBytes(6).toString('hex');
  const notBefore = new Date(nowMs - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `O=Entente, CN=Entente CA ${td} ${id}`,
    notBefore,
    notAfter: new Date(nowMs + ttlMs),
    signingAlgorithm: EC_P256_SHA256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      // X509-SVID 4.3: signing certificates set keyCertSign (cRLSign allowed), not digitalSignature.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: SpiffeId.forTrustDomain(td).toString() }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = derToPem(cert.rawData, 'CERTIFICATE');
  // Read the dates back from the certificate: it stores whole seconds.
  const notBeforeMs = cert.notBefore.getTime();
  const notAfterMs = cert.notAfter.getTime();
  const record: CaAuthorityRecord = { id, certFile: `ca-${id}.crt`, keyFile: `ca-${id}.key`, publishedAtMs: nowMs, activeFromMs: Math.max(activeFromMs, notBeforeMs), notBeforeMs, notAfterMs };
  await writeAuthorityFiles(dir, record, await privateKeyToPem(keys.privateKey), certPem);
  return { record, signer: { keys, cert, certPem, intermediatesPem: [], anchorPem: certPem, notAfterMs } };
}
