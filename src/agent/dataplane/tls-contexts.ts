// TLS secure contexts for both ends of the agent-to-agent mTLS session, built
// once per (workload SVID, trust) and rebuilt when either changes: the server
// context of each local workload (picked by SNI) and the client context of each
// (source workload, destination trust domain). TLS 1.3 only.
import { chainFromPeerCertificate } from '../../identity/tls-peer.js';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { CredentialProvider, DataplaneSnapshot, LocalWorkload, WorkloadCredentials } from './dataplane-snapshot.js';
import type { TrustDomain } from '../../identity/spiffe-id.js';
import { parseMeshSni } from '../../mesh/sni-name.js';

export const MESH_ALPN = ['h2'];
export const MIN_TLS_VERSION = 'TLSv1.3';

interface Trust {
  /** Identifies the set of every trusted authority (changes => server contexts rebuilt). */
  readonly allKey: string;
  readonly perDomain: Map<TrustDomain, { key: string; pems: string[] } | undefined>;
}

interface CachedContext {
  readonly creds: WorkloadCredentials;
  readonly trustKey: string;
  readonly context: SecureContext;
}

export type ServerContextResult =
  | { kind: 'ok'; context: SecureContext; workload: LocalWorkload }
  | { kind: 'refuse'; reason: string };

export type ClientContextResult =
  | { kind: 'ok'; context: SecureContext; trustKey: string }
  | { kind: 'refuse'; reason: string };

function sameCredentials(a: WorkloadCredentials, b: WorkloadCredentials): boolean {
  return a === b || (a.certChainPem === b.certChainPem && a.privateKeyPem === b.privateKeyPem);
}

/** The local workload a mesh server name addresses, if any. */
export function workloadForServerName(snapshot: DataplaneSnapshot, servername: string | undefined | null | false): LocalWorkload | undefined {
  if (!servername) return undefined;
  const sni = parseMeshSni(servername, snapshot.trustDomain);
  return sni ? snapshot.localWorkloadsByName.get(`${sni.namespace}/${sni.workload}`) : undefined;
}

export class TlsContexts {
  /** Trust derived once per immutable snapshot. */
  private readonly trustBySnapshot = new WeakMap<DataplaneSnapshot, Trust>();
  private readonly server = new Map<string, CachedContext>();
  private readonly client = new Map<string, CachedContext>();

  constructor(private readonly credentials: CredentialProvider) {}

  private trust(snapshot: DataplaneSnapshot): Trust {
    let t = this.trustBySnapshot.get(snapshot);
    if (!t) {
      t = { allKey: snapshot.allAuthoritiesPem.join(''), perDomain: new Map() };
      this.trustBySnapshot.set(snapshot, t);
    }
    return t;
  }

  /** Key of every trusted authority; compare two snapshots' keys to see whether trust changed. */
  allTrustKey(snapshot: DataplaneSnapshot): string {
    return this.trust(snapshot).allKey;
  }

  /** The CA pool for one trust domain, or undefined when it is not trusted (or fully revoked). */
  domainTrust(snapshot: DataplaneSnapshot, td: TrustDomain): { key: string; pems: string[] } | undefined {
    const t = this.trust(snapshot);
    if (t.perDomain.has(td)) return t.perDomain.get(td);
    const certs = snapshot.authoritiesFor(td);
    const entry = certs && certs.length > 0 ? { key: certs.map((c) => c.fingerprint256).join(','), pems: certs.map((c) => c.toString()) } : undefined;
    t.perDomain.set(td, entry);
    return entry;
  }

  /** SNI -> the local workload's SVID; the client CA pool is every trusted authority (the per-domain check follows the handshake). */
  serverContextFor(snapshot: DataplaneSnapshot, servername: string): ServerContextResult {
    const workload = workloadForServerName(snapshot, servername);
    if (!workload) return { kind: 'refuse', reason: `server name "${servername}" names no workload on this node` };
    const creds = this.credentials.credentialsFor(workload);
    if (!creds) return { kind: 'refuse', reason: `workload ${workload.namespace}/${workload.name} has no valid SVID yet` };
    const trustKey = this.allTrustKey(snapshot);
    const key = `${workload.namespace}/${workload.name}`;
    const cached = this.server.get(key);
    if (cached && cached.trustKey === trustKey && sameCredentials(cached.creds, creds)) return { kind: 'ok', context: cached.context, workload };
    const context = createSecureContext({
      cert: creds.certChainPem,
      key: creds.privateKeyPem,
      // An explicit (possibly empty) list: never fall back to the public roots.
      ca: [...snapshot.allAuthoritiesPem],
      minVersion: MIN_TLS_VERSION,
    });
    this.server.set(key, { creds, trustKey, context });
    return { kind: 'ok', context, workload };
  }

  /** The source workload's SVID with only the destination trust domain's authorities as CA. */
  clientContextFor(snapshot: DataplaneSnapshot, creds: WorkloadCredentials, destination: TrustDomain): ClientContextResult {
    const trust = this.domainTrust(snapshot, destination);
    if (!trust) return { kind: 'refuse', reason: `trust domain ${destination} is not trusted here (no federated bundle)` };
    const key = `${creds.spiffeId.toString()}|${destination}`;
    const cached = this.client.get(key);
    if (cached && cached.trustKey === trust.key && sameCredentials(cached.creds, creds)) return { kind: 'ok', context: cached.context, trustKey: trust.key };
    const context = createSecureContext({ cert: creds.certChainPem, key: creds.privateKeyPem, ca: trust.pems, minVersion: MIN_TLS_VERSION });
    this.client.set(key, { creds, trustKey: trust.key, context });
    return { kind: 'ok', context, trustKey: trust.key };
  }

  /** Drops contexts of workloads that left the node (called on snapshot change). */
  prune(snapshot: DataplaneSnapshot): void {
    for (const key of this.server.keys()) if (!snapshot.localWorkloadsByName.has(key)) this.server.delete(key);
    const ids = new Set([...snapshot.localWorkloadsByName.values()].map((w) => w.spiffeId.toString()));
    for (const key of this.client.keys()) if (!ids.has(key.slice(0, key.indexOf('|')))) this.client.delete(key);
  }
}

export { chainFromPeerCertificate };

export function peerChain(socket: TLSSocket): X509Certificate[] {
  return chainFromPeerCertificate(socket.getPeerCertificate(true));
}

/** Handshake failure labels by the error's stable code (Node's ERR_*, OpenSSL's verify codes, errno); anything else is "other". */
const HANDSHAKE_LABELS: Readonly<Record<string, string>> = {
  ENTENTE_UNKNOWN_SNI: 'unknown_server_name',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'no_client_certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REQUIRED: 'no_client_certificate',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'no_client_certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted_certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted_certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted_certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted_certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted_certificate',
  CERT_HAS_EXPIRED: 'untrusted_certificate',
  CERT_NOT_YET_VALID: 'untrusted_certificate',
  CERT_SIGNATURE_FAILURE: 'untrusted_certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'untrusted_certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'untrusted_certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'untrusted_certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'untrusted_certificate',
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: 'untrusted_certificate',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not_tls',
  ERR_SSL_HTTP_REQUEST: 'not_tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not_tls',
  ERR_SSL_RECORD_LENGTH_MISMATCH: 'not_tls',
  ERR_SSL_RECORD_LAYER_FAILURE: 'not_tls',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'protocol',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'protocol',
  ERR_SSL_NO_SHARED_CIPHER: 'protocol',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'protocol',
  ERR_SSL_VERSION_TOO_LOW: 'protocol',
  ERR_SSL_UNEXPECTED_EOF_WHILE_READING: 'reset',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  DIAL_TIMEOUT: 'timeout',
};

/** Maps a TLS error to a small, fixed set of metric labels, by its code (never by its message). */
export function handshakeFailureReason(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' && HANDSHAKE_LABELS[code]) || 'other';
}
