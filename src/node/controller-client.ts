// A node's client for its region controller: enrollment that authenticates
// the controller before the token is sent (by the CA pin in a join token, or
// for a Kubernetes service-account token by the CA file the agent is given),
// then mTLS calls with the node SVID, and the config stream with reconnection.
import { connect as tlsConnect, type TLSSocket, type PeerCertificate } from 'node:tls';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { EntenteError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { peerCertificateChain } from '../identity/tls-peer.js';
import { splitPemCertificates } from '../identity/pem.js';
import { caPin, parseJoinToken } from '../controller/join-tokens.js';
import { generateKeyPair, privateKeyToPem, type KeyPair } from '../identity/keys.js';
import { createCsrPem } from '../identity/csr.js';
import type { WireBundle } from '../mesh/wire-bundle.js';
import { canonicalIp, isUnspecifiedIp, parseSocketAddress } from '../core/address.js';
import { isLocalAddress } from '../core/local-addresses.js';
import type { Enrollment, StoredCredential } from './node-state.js';

export interface EnrollResult {
  readonly enrollment: Enrollment;
  readonly credential: StoredCredential;
  readonly bundle: WireBundle;
}

interface JsonResponse {
  status: number;
  body: Record<string, unknown>;
}

function collect(res: import('node:http').IncomingMessage): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      try {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> });
      } catch {
        reject(new Error(`controller answered HTTP ${res.statusCode} with invalid JSON`));
      }
    });
    res.on('error', reject);
  });
}

function urlParts(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443) };
}

/**
 * Enrolls with the first controller replica that answers (in the order
 * given). Only an unreachable replica, or one that does not hold the pinned
 * CA (the token was not sent to it), makes it try the next: a refusal is
 * final, since every replica shares the same token store.
 */
export async function enrollWithAny(controllerUrls: readonly string[], token: string, node: string, kind: 'agent' | 'gateway'): Promise<EnrollResult> {
  let last: unknown;
  for (const url of controllerUrls) {
    try {
      return await enroll(url, token, node, kind);
    } catch (err) {
      last = err;
      const code = err instanceof EntenteError ? err.code : undefined;
      if (code !== 'CONTROLLER_UNREACHABLE' && code !== 'CONTROLLER_PIN_MISMATCH' && code !== 'CONTROLLER_IDENTITY') throw err;
    }
  }
  throw last;
}

/** How long a controller may take to complete the TLS handshake, and then to answer the enrollment (a TokenReview included). */
const ENROLL_CONNECT_TIMEOUT_MS = 10_000;
const ENROLL_ANSWER_TIMEOUT_MS = 30_000;

/** The controller, authenticated: the socket (nothing sent yet), the CA that signed its leaf, and the trust domain that CA names. */
interface AuthenticatedController {
  readonly socket: TLSSocket;
  readonly ca: X509Certificate;
  readonly trustDomain: string;
}

/**
 * Connects and authenticates the controller before anything is sent: its leaf
 * must be issued and signed by one of `anchors(chain)` (the CA pinned in a
 * join token, or the CAs of controllerCaFile), and carry exactly the SAN
 * spiffe://<td>/controller, td being the one that CA names. `refused` is the
 * error when no anchor signed the leaf.
 */
async function authenticateController(controllerUrl: string, anchors: (chain: readonly X509Certificate[]) => readonly X509Certificate[], refused: () => EntenteError): Promise<AuthenticatedController> {
  const { host, port } = urlParts(controllerUrl);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host, port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'], timeout: ENROLL_CONNECT_TIMEOUT_MS });
    const unreachable = (why: string): EntenteError => new EntenteError('CONTROLLER_UNREACHABLE', `cannot reach controller at ${controllerUrl}: ${why}`, { hint: 'check the controller URL and that the controller runs' });
    s.once('secureConnect', () => {
      s.setTimeout(0);
      resolve(s);
    });
    s.once('timeout', () => {
      s.destroy();
      reject(unreachable(`no TLS handshake within ${ENROLL_CONNECT_TIMEOUT_MS / 1000} s`));
    });
    s.once('error', (err) => reject(unreachable(err.message)));
  });
  const chain = peerCertificateChain(socket);
  const leaf = chain[0];
  const ca = leaf ? anchors(chain).find((a) => a.ca && leaf.checkIssued(a) && leaf.verify(a.publicKey)) : undefined;
  if (!leaf || !ca) {
    socket.destroy();
    throw refused();
  }
  const td = /URI:spiffe:\/\/([^/,\s]+)/.exec(ca.subjectAltName ?? '')?.[1];
  if (!td || leaf.subjectAltName !== `URI:spiffe://${td}/controller`) {
    socket.destroy();
    throw new EntenteError('CONTROLLER_IDENTITY', `controller presented ${leaf.subjectAltName ?? 'no SAN'}, expected spiffe://${td ?? '?'}/controller`);
  }
  return { socket, ca, trustDomain: td };
}

/** POSTs the enrollment on the authenticated socket and turns the answer into what the node keeps. */
async function requestEnrollment(controllerUrl: string, c: AuthenticatedController, body: Record<string, unknown>, node: string, kind: 'agent' | 'gateway', keys: KeyPair, hint: (code: string | undefined) => string): Promise<EnrollResult> {
  const { host, port } = urlParts(controllerUrl);
  let res: JsonResponse;
  try {
    res = await new Promise<JsonResponse>((resolve, reject) => {
      const req = httpsRequest(
        { host, port, path: '/v1/enroll', method: 'POST', createConnection: () => c.socket, headers: { 'content-type': 'application/json' }, timeout: ENROLL_ANSWER_TIMEOUT_MS },
        (r) => collect(r).then(resolve, reject),
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${ENROLL_ANSWER_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  } catch (err) {
    throw new EntenteError('CONTROLLER_UNREACHABLE', `enrollment at ${controllerUrl} failed: ${(err as Error).message}`, { cause: err, hint: 'check that the controller runs' });
  } finally {
    c.socket.destroy();
  }
  if (res.status !== 200) {
    const e = res.body.error as { code?: string; message?: string } | undefined;
    throw new EntenteError(e?.code ?? 'ENROLL_REFUSED', `enrollment refused: ${e?.message ?? `HTTP ${res.status}`}`, { hint: hint(e?.code) });
  }
  const svid = res.body.svid as { chainPem: string; notAfter: string };
  const leafCert = new X509Certificate(svid.chainPem);
  const td = c.trustDomain;
  return {
    enrollment: { node, kind, region: String(res.body.region), trustDomain: td, caPem: c.ca.toString() },
    credential: {
      spiffeId: `spiffe://${td}/node/${node}`,
      keyPem: await privateKeyToPem(keys.privateKey),
      chainPem: svid.chainPem,
      notBefore: new Date(leafCert.validFrom).toISOString(),
      notAfter: svid.notAfter,
    },
    bundle: res.body.bundle as WireBundle,
  };
}

async function nodeCsr(td: string, node: string): Promise<{ keys: KeyPair; csr: string }> {
  const keys = await generateKeyPair();
  return { keys, csr: await createCsrPem(keys, `spiffe://${td}/node/${node}`) };
}

/** Enrolls with a join token. The controller must present a chain whose CA matches the token's pin. */
export async function enroll(controllerUrl: string, token: string, node: string, kind: 'agent' | 'gateway'): Promise<EnrollResult> {
  const parsed = parseJoinToken(token);
  const c = await authenticateController(
    controllerUrl,
    (chain) => chain.filter((cert) => cert.ca && caPin(cert.toString()) === parsed.caPin),
    () => new EntenteError('CONTROLLER_PIN_MISMATCH', `controller at ${controllerUrl} does not hold the CA pinned in the join token`, {
      hint: 'the token was made by another controller, or something is impersonating this one',
    }),
  );
  const { keys, csr } = await nodeCsr(c.trustDomain, node);
  return requestEnrollment(controllerUrl, c, { token, node, csr, kind }, node, kind, keys, () => 'create a new token with `entente token create --node NAME`');
}

/** The CA certificates of a controllerCaFile's text (one or more PEM blocks; during a CA rotation, old and new). */
export function parseControllerCas(pem: string): X509Certificate[] {
  return splitPemCertificates(pem).flatMap((p) => {
    try {
      const cert = new X509Certificate(p);
      return cert.ca ? [cert] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Enrolls an agent with its projected Kubernetes service-account token. There
 * is no pin in such a token: the controller is authenticated against `cas`
 * (controllerCaFile) exactly as against a join token's pin, before the token
 * leaves the node.
 */
export async function enrollWithKubernetesToken(controllerUrl: string, kubernetesToken: string, cas: readonly X509Certificate[], caFile: string, node: string): Promise<EnrollResult> {
  const c = await authenticateController(
    controllerUrl,
    () => cas,
    () => new EntenteError('CONTROLLER_CA_MISMATCH', `controller at ${controllerUrl} presents no certificate signed by a CA of controllerCaFile ${caFile}: the token was not sent`, {
      hint: "controllerCaFile must hold this region's CA (the controller's <dataDir>/ca.pem); otherwise something is impersonating the controller",
    }),
  );
  const { keys, csr } = await nodeCsr(c.trustDomain, node);
  return requestEnrollment(controllerUrl, c, { kubernetesToken, node, csr, kind: 'agent' }, node, 'agent', keys, (code) => KUBERNETES_HINTS[code ?? ''] ?? KUBERNETES_HINT);
}

const KUBERNETES_HINT = "check region.yaml's kubernetes.agentAttestation (audience, serviceAccounts) against the agent pod's service account and its projected token's audience";
/** What to check, by the controller's refusal code (src/kubernetes/node-attestor.ts, src/controller/kubernetes-enrollment.ts). */
const KUBERNETES_HINTS: Readonly<Record<string, string>> = {
  API_UNAVAILABLE: 'the controller could not have the token reviewed by the Kubernetes API server (it needs create on tokenreviews); the agent tries again',
  ATTESTATION_BUSY: 'many agents are enrolling at once; the agent tries again',
  NO_NODE: 'the controller has not seen this pod yet (clusters before 1.30 bind no node into the token); the agent tries again',
  NODE_MISMATCH: "--node (or node) must be the node this pod runs on: pass spec.nodeName from the downward API",
  KUBERNETES_ATTESTATION_OFF: 'set kubernetes.agentAttestation in the controller\'s region.yaml, or enroll with a join token',
  NODE_IS_GATEWAY: 'a gateway enrolled under this node name; give the gateway another name',
};

/** The local IP to dial the controller from: the advertised host, when it is one of this host's addresses. */
export function advertiseSource(advertise: string | undefined, isLocal: (ip: string) => boolean = isLocalAddress): string | undefined {
  if (advertise === undefined) return undefined;
  try {
    const ip = canonicalIp(parseSocketAddress(advertise).host);
    return ip !== undefined && !isUnspecifiedIp(ip) && isLocal(ip) ? ip : undefined;
  } catch {
    return undefined;
  }
}

export interface ControllerClientOptions {
  /** The region controller's replicas (one URL without replicas): calls move to the next when one fails. */
  readonly urls: readonly string[];
  readonly enrollment: Enrollment;
  readonly credential: () => StoredCredential;
  readonly log: Logger;
}

export class ControllerClient {
  /** The replica calls go to: the last one that answered. */
  private active = 0;

  constructor(private readonly opts: ControllerClientOptions) {
    if (opts.urls.length === 0) throw new EntenteError('NO_CONTROLLER', 'no controller URL');
  }

  /** The replica calls go to now. */
  get url(): string {
    return this.opts.urls[this.active]!;
  }

  /** The replica after `failed` (unless another call moved on already). */
  private moveOn(failed: number): void {
    if (this.active === failed) this.active = (failed + 1) % this.opts.urls.length;
  }

  private tlsOptions(path: string, method: string, localAddress?: string): RequestOptions {
    const { host, port } = urlParts(this.url);
    const cred = this.opts.credential();
    const expected = `URI:spiffe://${this.opts.enrollment.trustDomain}/controller`;
    return {
      host,
      port,
      path,
      method,
      key: cred.keyPem,
      cert: cred.chainPem,
      ca: [this.opts.enrollment.caPem],
      minVersion: 'TLSv1.3',
      agent: false,
      ...(localAddress !== undefined ? { localAddress } : {}),
      checkServerIdentity: (_h: string, cert: PeerCertificate) =>
        cert.subjectaltname === expected ? undefined : new Error(`controller presented ${cert.subjectaltname ?? 'no SAN'}`),
      headers: { 'content-type': 'application/json' },
    };
  }

  /** POSTs to the active replica; a replica that cannot be reached (or times out) passes the call to the next, each tried once. */
  async post(path: string, body: unknown, timeoutMs = 10_000): Promise<JsonResponse> {
    let last: unknown;
    for (let tries = 0; tries < this.opts.urls.length; tries++) {
      const at = this.active;
      try {
        return await new Promise<JsonResponse>((resolve, reject) => {
          const req = httpsRequest({ ...this.tlsOptions(path, 'POST'), timeout: timeoutMs }, (r) => collect(r).then(resolve, reject));
          req.on('timeout', () => req.destroy(new Error(`controller ${this.url} timed out`)));
          req.on('error', reject);
          req.end(JSON.stringify(body));
        });
      } catch (err) {
        last = err;
        this.moveOn(at);
      }
    }
    throw last;
  }

  /**
   * Follows the config stream until stop() is called, reconnecting with
   * capped exponential backoff. `onLine` gets every config line unparsed
   * (heartbeats filtered out): checking it is the node's ConfigIntake's job.
   * The stream is dialled from the advertised host when that is an address of
   * this host, because the controller binds a node's advertise to the source
   * address of this connection (unless addresses were registered for it).
   */
  followConfig(advertise: string | undefined, onLine: (line: string) => void, onState: (connected: boolean, err?: string, url?: string) => void): { stop(): void } {
    let stopped = false;
    let backoff = 250;
    let current: import('node:http').ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const q = advertise ? `?advertise=${encodeURIComponent(advertise)}` : '';
    const localAddress = advertiseSource(advertise);
    let at = this.active;
    const retry = (err: string): void => {
      onState(false, err);
      if (stopped) return;
      // Another replica may be up: the next attempt goes there (the backoff still grows, so a region whose replicas are all down is not hammered).
      this.moveOn(at);
      const delay = backoff * (0.8 + Math.random() * 0.4);
      backoff = Math.min(backoff * 2, 5000);
      timer = setTimeout(open, delay);
    };
    const open = (): void => {
      if (stopped) return;
      at = this.active;
      let idle: NodeJS.Timeout | undefined;
      let failed = false;
      const fail = (why: string): void => {
        if (failed) return;
        failed = true;
        if (idle) clearTimeout(idle);
        current?.destroy();
        retry(why);
      };
      const armIdle = (): void => {
        if (idle) clearTimeout(idle);
        // The controller sends a heartbeat every 5 s; three missed means the path is dead.
        idle = setTimeout(() => fail('config stream silent for 15 s'), 15_000);
      };
      try {
        current = httpsRequest(this.tlsOptions(`/v1/config/stream${q}`, 'GET', localAddress), (res) => {
          if (res.statusCode !== 200) {
            void collect(res).then(
              (r) => fail(`controller answered ${res.statusCode}: ${JSON.stringify(r.body.error ?? r.body)}`),
              () => fail(`controller answered ${res.statusCode}`),
            );
            return;
          }
          backoff = 250;
          onState(true, undefined, this.url);
          armIdle();
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            armIdle();
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (line.length < 3) continue; // heartbeat "{}"
              onLine(line);
            }
          });
          res.on('end', () => fail('config stream ended'));
          res.on('error', (err) => fail(err.message));
        });
      } catch (err) {
        fail((err as Error).message);
        return;
      }
      current.on('error', (err) => fail(err.message));
      current.end();
    };
    open();
    return {
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        current?.destroy();
      },
    };
  }
}
