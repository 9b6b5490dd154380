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

/** Maps a TLS error to a small, fixed set of metric labels. */
export function handshakeFailureReason(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const text = `${typeof code === 'string' ? code : ''} ${err instanceof Error ? err.message : ''}`.toUpperCase();
  if (text.includes('ENTENTE_UNKNOWN_SNI')) return 'unknown_server_name';
  if (text.includes('PEER_DID_NOT_RETURN_A_CERTIFICATE') || text.includes('NO CERTIFICATE')) return 'no_client_certificate';
  if (text.includes('CERTIFICATE') || text.includes('VERIFY') || text.includes('UNKNOWN_CA') || text.includes('ISSUER')) return 'untrusted_certificate';
  if (text.includes('WRONG_VERSION') || text.includes('HTTP_REQUEST') || text.includes('PACKET') || text.includes('RECORD')) return 'not_tls';
  if (text.includes('VERSION') || text.includes('PROTOCOL')) return 'protocol';
  if (text.includes('ECONNRESET') || text.includes('EPIPE') || text.includes('SOCKET')) return 'reset';
  if (text.includes('TIMEOUT') || text.includes('ETIMEDOUT')) return 'timeout';
  return 'other';
}
