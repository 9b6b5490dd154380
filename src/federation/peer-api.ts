// Serves the signed region states this controller holds — its own and the
// verified states of other regions, for relay — to its peer controllers over
// mTLS. Only the controllers of configured peer trust domains are answered;
// each is checked against its own trust domain's bundle (never a pool of every
// peer's roots). The states need no trust in us: each is signed by its origin.
import { createServer, type Server } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../core/log.js';
import { sendError, sendJson } from '../core/http-json.js';
import { bundleFromDocument } from '../identity/trust-bundle.js';
import type { WireBundle } from '../mesh/wire-bundle.js';
import { verifyX509SvidChain, type SvidVerification } from '../identity/verify-svid.js';
import { peerCertificateChain } from '../identity/tls-peer.js';
import { EPOCH_PATTERN, type FeedAnswer } from './state-feed.js';
import { FLOWS_PATH } from './peer-flows.js';
import { FlowQueryError, parseFlowQuery, type FlowFilter } from '../controller/flow-query.js';
import type { StoredFlow } from '../mesh/flow-wire.js';

export const STATES_PATH = '/v1/federation/states';

export type StatesRoute =
  /** No query: every state, as before the feed existed (plus cursor and epoch, which old clients ignore). */
  | { kind: 'full' }
  | { kind: 'delta'; since: number; epoch: string }
  | { kind: 'bad-request'; parameter: string; reason: string }
  | { kind: 'not-found' };

/** Decides what a request asks for, from its method and URL alone. */
export function routeStatesRequest(method: string | undefined, rawUrl: string | undefined): StatesRoute {
  let url: URL;
  try {
    url = new URL(rawUrl ?? '', 'https://peer.invalid');
  } catch {
    return { kind: 'not-found' };
  }
  if (method !== 'GET' || url.pathname !== STATES_PATH) return { kind: 'not-found' };
  const since = url.searchParams.get('since');
  const epoch = url.searchParams.get('epoch');
  if (since === null && epoch === null) return { kind: 'full' };
  if (since === null) return { kind: 'bad-request', parameter: 'since', reason: 'since is required with epoch (the cursor of your last answer)' };
  if (!/^(0|[1-9][0-9]{0,15})$/.test(since) || !Number.isSafeInteger(Number(since))) {
    return { kind: 'bad-request', parameter: 'since', reason: `since must be a non-negative integer (the cursor of your last answer), got ${JSON.stringify(since.slice(0, 40))}` };
  }
  if (epoch === null) return { kind: 'bad-request', parameter: 'epoch', reason: 'epoch is required with since (the epoch of your last answer)' };
  if (!EPOCH_PATTERN.test(epoch)) {
    return { kind: 'bad-request', parameter: 'epoch', reason: `epoch must be 1-64 base64url characters (the epoch of your last answer), got ${JSON.stringify(epoch.slice(0, 70))}` };
  }
  return { kind: 'delta', since: Number(since), epoch };
}

export interface PeerApiDeps {
  /** Trust domain -> bundle document of every configured peer (current). */
  readonly peerBundles: () => Readonly<Record<string, WireBundle>>;
  readonly credentials: () => { key: string; cert: string };
  /**
   * The states to send a peer: every one (our own first, when signed yet) for no
   * cursor or another epoch; else only those changed after `cursor`.
   */
  readonly states: (cursor: number | undefined, epoch: string | undefined) => FeedAnswer;
  /** This region's own flows for a peer's `entente flows`; undefined when flows.shareWithPeers is off. */
  readonly flows?: (q: FlowFilter) => StoredFlow[];
  readonly log: Logger;
  readonly count: (event: string) => void;
  /** The clock client certificates are checked against (default Date.now). */
  readonly now?: () => number;
}

/** Parsed roots per bundle document (anchorDocument memoizes documents per bundle, so an unchanged one is the same object). */
const parsedRoots = new WeakMap<WireBundle, X509Certificate[] | null>();

function authorities(docs: Readonly<Record<string, WireBundle>>): Map<string, X509Certificate[]> {
  const out = new Map<string, X509Certificate[]>();
  for (const [td, doc] of Object.entries(docs)) {
    let roots = parsedRoots.get(doc);
    if (roots === undefined) {
      try {
        roots = bundleFromDocument(doc, td).x509Authorities.map((p) => new X509Certificate(p));
      } catch {
        roots = null; // a malformed bundle authenticates nobody
      }
      parsedRoots.set(doc, roots);
    }
    if (roots) out.set(td, roots);
  }
  return out;
}

/** Whether two sets of bundle documents are the same documents (identity: documents are immutable and memoized). */
function sameDocs(a: Readonly<Record<string, WireBundle>>, b: Readonly<Record<string, WireBundle>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]) || JSON.stringify(a) === JSON.stringify(b);
}

export function startPeerApi(deps: PeerApiDeps, listen: { host: string; port: number }): Promise<Server & { refreshTrust(): void }> {
  let docs = deps.peerBundles();
  let trust = authorities(docs);
  const contextOptions = () => {
    const c = deps.credentials();
    const ca = [...trust.values()].flat().map((x) => x.toString());
    // With no peer bundle yet, ask for a certificate but let the check below refuse it.
    return { key: c.key, cert: c.cert, ...(ca.length > 0 ? { ca } : {}) };
  };
  const server = createServer({ ...contextOptions(), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }) as Server & {
    refreshTrust(): void;
  };
  let credentialsSeen = deps.credentials();
  server.refreshTrust = () => {
    // Called on every config change: rebuilding the TLS context (every peer's roots) only when a bundle or our SVID changed.
    const next = deps.peerBundles();
    const creds = deps.credentials();
    if (sameDocs(next, docs) && creds.cert === credentialsSeen.cert) return;
    docs = next;
    credentialsSeen = creds;
    trust = authorities(docs);
    server.setSecureContext(contextOptions());
  };

  // A peer's certificate cannot change within a TLS connection (TLS 1.3 only: no renegotiation): verified once per socket, against the
  // trust it was verified with (refreshTrust replaces that object, so new trust re-verifies), and only
  // while the clock is inside the chain's validity; refusals are not kept, so they are decided afresh.
  const verified = new WeakMap<TLSSocket, { trust: typeof trust; v: SvidVerification & { kind: 'valid' }; notBeforeMs: number }>();
  const authenticate = (socket: TLSSocket): SvidVerification => {
    const now = (deps.now ?? Date.now)();
    const hit = verified.get(socket);
    if (hit && hit.trust === trust && now >= hit.notBeforeMs && now <= hit.v.pathNotAfter.getTime()) return hit.v;
    deps.count('peer_auth_checked');
    let v: SvidVerification;
    let notBeforeMs = now;
    try {
      const chain = peerCertificateChain(socket);
      v = verifyX509SvidChain(chain, { authoritiesFor: (td) => trust.get(td) }, now);
      notBeforeMs = chain[0] ? Date.parse(chain[0].validFrom) : now;
    } catch (err) {
      // A certificate the X.509 library cannot parse is a refusal, never a crash of the controller.
      v = { kind: 'invalid', code: 'MALFORMED_CERTIFICATE', reason: `client certificate cannot be checked: ${(err as Error).message}` };
    }
    if (v.kind === 'valid') verified.set(socket, { trust, v, notBeforeMs });
    else verified.delete(socket);
    return v;
  };

  server.on('request', (req, res) => {
    const v = authenticate(req.socket as TLSSocket);
    if (v.kind === 'invalid' || v.spiffeId.path !== '/controller') {
      deps.count('peer_auth_refused');
      const why = v.kind === 'invalid' ? v.reason : `${v.spiffeId} is not a controller`;
      deps.log.warn({ peer: req.socket.remoteAddress, why }, 'federation request refused');
      return sendError(res, 401, 'UNAUTHENTICATED', why);
    }
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === FLOWS_PATH) {
      if (!deps.flows) return sendError(res, 403, 'FLOWS_NOT_SHARED', 'this region does not share its flows with peers (flows.shareWithPeers)');
      try {
        const q = parseFlowQuery(new URL(req.url ?? '', 'https://peer.invalid').searchParams);
        return sendJson(res, 200, { flows: deps.flows({ ...q, local: true }) });
      } catch (err) {
        if (err instanceof FlowQueryError) return sendError(res, 400, 'BAD_REQUEST', err.message);
        throw err;
      }
    }
    const route = routeStatesRequest(req.method, req.url);
    switch (route.kind) {
      case 'full':
        return sendJson(res, 200, deps.states(undefined, undefined));
      case 'delta':
        return sendJson(res, 200, deps.states(route.since, route.epoch));
      case 'bad-request':
        return sendError(res, 400, 'BAD_REQUEST', `query parameter ${route.parameter}: ${route.reason}`);
      case 'not-found':
        return sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${req.url}`);
    }
  });
  server.on('tlsClientError', (err) => {
    deps.count('peer_tls_refused');
    deps.log.debug({ err: err.message }, 'federation TLS handshake refused');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
