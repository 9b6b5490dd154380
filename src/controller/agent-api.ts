// The controller's API for its own region's nodes (agents and gateways), over
// TLS with the controller SVID: enrollment with a one-time join token (or, for
// agents on Kubernetes, a projected service-account token), SVIDs for the
// workloads placed on the caller's node, and the config stream.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { describeError, EntenteError } from '../core/errors.js';
import { readJsonObject, sendError, sendJson } from '../core/http-json.js';
import type { SocketAddress } from '../core/address.js';
import { isLocalAddress } from '../core/local-addresses.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { LocalCa } from '../identity/local-ca.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import { verifyX509SvidChain } from '../identity/verify-svid.js';
import { peerCertificateChain } from '../identity/tls-peer.js';
import { toWireBundle } from '../mesh/wire-bundle.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import type { JoinTokens, NodeKind } from './join-tokens.js';
import type { NodeRegistry } from './node-registry.js';
import type { ServingIdentity } from './serving-identity.js';
import type { ResourceSet } from '../policy/resource-set.js';
import { checkAdvertise, type AdvertiseRefusal } from './advertise-check.js';
import { checkLinkReport, type LinkReport } from './link-reports.js';
import { checkFlowBatch, type FlowBatchCheck } from '../mesh/flow-wire.js';
import { KUBERNETES_ATTESTATION_OFF, type KubernetesEnrollment } from './kubernetes-enrollment.js';

/** Records taken from one agent batch (the agent sends at most 1000). */
export const FLOW_BATCH_LIMIT = 1000;

export interface AgentApiDeps {
  readonly region: string;
  readonly ca: LocalCa;
  readonly serving: ServingIdentity;
  readonly tokens: JoinTokens;
  readonly nodes: NodeRegistry;
  /** Enrollment by Kubernetes service-account token (kubernetes.agentAttestation); absent: refused as KUBERNETES_ATTESTATION_OFF. */
  readonly kubernetesEnrollment?: KubernetesEnrollment;
  readonly svidTtlMs: number;
  readonly resources: () => ResourceSet;
  /** undefined while no resource set is in force: nothing is sent, nodes keep their cached config. */
  readonly meshConfig: () => MeshConfig | undefined;
  /** Subscribe to config changes; returns the unsubscribe function. */
  readonly onConfig: (listener: (c: MeshConfig) => void) => () => void;
  /** Every address the controller listens on: no node may advertise one of them. */
  readonly controllerListeners: () => readonly SocketAddress[];
  readonly log: Logger;
  readonly count: (event: string) => void;
  readonly countAdvertiseRefused: (reason: AdvertiseRefusal) => void;
  /** A gateway's checked link probe report (gateways only). */
  readonly reportLinks: (gateway: string, report: LinkReport) => void;
  /** An agent's checked flow batch (agents only). */
  readonly reportFlows: (node: string, batch: FlowBatchCheck) => void;
}

const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function nodeSpiffeId(ca: LocalCa, node: string): SpiffeId {
  return SpiffeId.fromParts(ca.trustDomain, ['node', node]);
}

export function startAgentApi(deps: AgentApiDeps, listen: { host: string; port: number }): Promise<Server> {
  const material = deps.serving.current();
  const server = createServer({
    key: material.key,
    cert: material.cert,
    ca: [deps.ca.caCertPem],
    requestCert: true,
    // Enrollment comes without a client certificate; every other call is checked below.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  deps.serving.onRenew((m) => server.setSecureContext({ key: m.key, cert: m.cert, ca: [deps.ca.caCertPem] }));
  // Every authority in the current bundle: during a CA rotation nodes hold SVIDs of both keys.
  const roots = (): X509Certificate[] => deps.ca.bundle().x509Authorities.map((p) => new X509Certificate(p));

  /** The enrolled node behind this request's client certificate, or an error reply. */
  function authenticate(req: IncomingMessage): { node: string; kind: NodeKind } | string {
    const chain = peerCertificateChain(req.socket as TLSSocket);
    const v = verifyX509SvidChain(chain, { authoritiesFor: (td) => (td === deps.ca.trustDomain ? roots() : undefined) }, Date.now());
    if (v.kind === 'invalid') return `client certificate refused: ${v.reason}`;
    const m = /^\/node\/([a-z0-9-]+)$/.exec(v.spiffeId.path);
    const rec = m ? deps.nodes.get(m[1]!) : undefined;
    if (!m || !rec) return `${v.spiffeId} is not an enrolled node of this region`;
    return { node: rec.node, kind: rec.kind };
  }

  // A rogue node reconnecting in a loop must not flood the log.
  const refusals = new RateLimitedLog(deps.log, { burst: 5, windowMs: 1000 });

  /** Who may enroll, by which credential: a join token (one-time) or a Kubernetes service-account token (agents). */
  async function admit(body: { token?: string; kubernetesToken?: string; node: string; kind: NodeKind }): Promise<
    { kind: 'ok'; node: string; nodeKind: NodeKind; addresses: readonly string[]; via: 'join-token' | 'kubernetes'; detail?: Record<string, unknown> } | { kind: 'refused'; status: number; code: string; reason: string }
  > {
    if (body.kubernetesToken === undefined) {
      const r = await deps.tokens.redeem(body.token!, body.node, body.kind);
      return r.kind === 'refused' ? { kind: 'refused', status: 403, code: r.code, reason: r.reason } : { ...r, via: 'join-token' };
    }
    const d = deps.kubernetesEnrollment ? await deps.kubernetesEnrollment.decide({ token: body.kubernetesToken, node: body.node, kind: body.kind }) : KUBERNETES_ATTESTATION_OFF;
    if (d.kind === 'refused') return d;
    return { kind: 'ok', node: d.node, nodeKind: 'agent', addresses: d.addresses, via: 'kubernetes', detail: { account: d.account, pod: d.pod, reenrolled: d.reenrolled } };
  }

  async function enroll(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req);
    // Exactly one credential: a join token or a Kubernetes service-account token.
    const credentials = (typeof body.token === 'string' ? 1 : 0) + (typeof body.kubernetesToken === 'string' ? 1 : 0);
    if (credentials !== 1 || typeof body.node !== 'string' || typeof body.csr !== 'string' || !NODE_NAME.test(body.node) || (body.kind !== 'agent' && body.kind !== 'gateway')) {
      return sendError(res, 400, 'BAD_REQUEST', 'expected {"token": string, "node": DNS label, "csr": PEM, "kind": "agent" or "gateway"}, or for an agent on Kubernetes {"kubernetesToken": string, "node", "csr", "kind": "agent"}');
    }
    const r = await admit({ ...(typeof body.token === 'string' ? { token: body.token } : { kubernetesToken: body.kubernetesToken as string }), node: body.node, kind: body.kind });
    if (r.kind === 'refused') {
      deps.count(`enroll_refused_${r.code.toLowerCase()}`);
      // Rate-limited per code: anyone may knock, and a Kubernetes refusal is an API server round trip each.
      refusals.warn(`enroll_${r.code.toLowerCase()}`, { node: body.node, code: r.code, peer: req.socket.remoteAddress }, `enrollment refused: ${r.reason}`);
      return sendError(res, r.status, r.code, r.reason);
    }
    const svid = await deps.ca.issueFromCsr(body.csr, nodeSpiffeId(deps.ca, r.node), deps.svidTtlMs);
    // One record per node: a node enrolling again (a new join token, a new pod) replaces its record.
    deps.nodes.enroll(r.node, r.nodeKind, r.addresses);
    deps.count('enrolled');
    deps.log.info({ node: r.node, kind: r.nodeKind, via: r.via, ...(r.addresses.length > 0 ? { addresses: r.addresses } : {}), ...r.detail }, 'node enrolled');
    sendJson(res, 200, {
      region: deps.region,
      trustDomain: deps.ca.trustDomain,
      node: r.node,
      kind: r.nodeKind,
      svid: { chainPem: svid.chainPem, notAfter: svid.notAfter.toISOString() },
      bundle: toWireBundle(deps.ca.bundle()),
    });
  }

  async function renewNode(req: IncomingMessage, res: ServerResponse, node: string): Promise<void> {
    const body = await readJsonObject(req);
    if (typeof body.csr !== 'string') return sendError(res, 400, 'BAD_REQUEST', 'expected {"csr": PEM}');
    const svid = await deps.ca.issueFromCsr(body.csr, nodeSpiffeId(deps.ca, node), deps.svidTtlMs);
    sendJson(res, 200, { chainPem: svid.chainPem, notAfter: svid.notAfter.toISOString() });
  }

  async function workloadSvids(req: IncomingMessage, res: ServerResponse, node: string): Promise<void> {
    const body = await readJsonObject(req);
    const requests = body.requests;
    if (!Array.isArray(requests) || !requests.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      return sendError(res, 400, 'BAD_REQUEST', 'expected {"requests": [{namespace, name, csr}]}');
    }
    const workloads = deps.resources().workloads;
    const results = [];
    for (const r of (requests as { namespace?: unknown; name?: unknown; csr?: unknown }[]).slice(0, 256)) {
      const w = workloads.find((x) => x.metadata.namespace === r.namespace && x.metadata.name === r.name);
      if (!w || typeof r.csr !== 'string') {
        results.push({ namespace: r.namespace, name: r.name, error: 'no such workload' });
        continue;
      }
      if (w.spec.node !== node) {
        // An agent may only hold identities of workloads on its own node.
        deps.count('svid_refused_other_node');
        deps.log.warn({ node, workload: `${w.metadata.namespace}/${w.metadata.name}`, placedOn: w.spec.node }, 'SVID refused: workload is placed on another node');
        results.push({ namespace: r.namespace, name: r.name, error: `workload is placed on node ${w.spec.node}, not ${node}` });
        continue;
      }
      const id = SpiffeId.forWorkload(deps.ca.trustDomain, w.metadata.namespace, w.spec.serviceAccount);
      try {
        const svid = await deps.ca.issueFromCsr(r.csr, id, deps.svidTtlMs);
        deps.count('svid_issued');
        results.push({ namespace: r.namespace, name: r.name, spiffeId: id.toString(), chainPem: svid.chainPem, notAfter: svid.notAfter.toISOString() });
      } catch (err) {
        results.push({ namespace: r.namespace, name: r.name, error: describeError(err) });
      }
    }
    sendJson(res, 200, { svids: results });
  }

  async function linkReport(req: IncomingMessage, res: ServerResponse, who: { node: string; kind: NodeKind }): Promise<void> {
    if (who.kind !== 'gateway') {
      deps.count('link_report_refused');
      refusals.warn('link_report_not_gateway', { node: who.node }, 'link report from a node that is not a gateway: refused');
      return sendError(res, 403, 'NOT_A_GATEWAY', `${who.node} is enrolled as ${who.kind}; only gateways report links`);
    }
    const c = checkLinkReport(await readJsonObject(req, 512 * 1024));
    if (c.kind === 'invalid') {
      deps.count('link_report_refused');
      refusals.warn('link_report_invalid', { node: who.node, problem: c.message }, 'malformed link report: refused, the last good one is kept');
      return sendError(res, 400, 'BAD_LINK_REPORT', c.message);
    }
    deps.reportLinks(who.node, c.report);
    sendJson(res, 200, { ok: true });
  }

  async function flowReport(req: IncomingMessage, res: ServerResponse, who: { node: string; kind: NodeKind }): Promise<void> {
    if (who.kind !== 'agent') {
      deps.count('flow_report_refused');
      refusals.warn('flow_report_not_agent', { node: who.node }, 'flow report from a node that is not an agent: refused');
      return sendError(res, 403, 'NOT_AN_AGENT', `${who.node} is enrolled as ${who.kind}; only agents report flows`);
    }
    const body = await readJsonObject(req, 8 * 1024 * 1024);
    const batch = checkFlowBatch(body.flows, deps.region, FLOW_BATCH_LIMIT);
    deps.reportFlows(who.node, batch);
    if (batch.firstProblem !== undefined) refusals.warn('flow_record_refused', { node: who.node, refused: batch.refused, problem: batch.firstProblem }, 'flow records refused; the rest of the batch is kept');
    sendJson(res, 200, { accepted: batch.accepted.length, refused: batch.refused });
  }

  function configStream(req: IncomingMessage, res: ServerResponse, node: string): void {
    const claimed = new URL(req.url ?? '/', 'https://x').searchParams.get('advertise') ?? undefined;
    let advertise: string | undefined;
    if (claimed !== undefined) {
      const d = checkAdvertise(claimed, {
        node,
        registered: deps.nodes.get(node)?.addresses ?? [],
        source: req.socket.remoteAddress,
        controllerListeners: deps.controllerListeners(),
        isLocal: isLocalAddress,
      });
      if (d.kind === 'refused') {
        // The registry keeps the last good value; the node is told exactly what was wrong.
        deps.countAdvertiseRefused(d.reason);
        refusals.warn(`advertise_${d.reason}`, { node, advertise: claimed, peer: req.socket.remoteAddress }, d.message);
        return sendError(res, 400, 'BAD_ADVERTISE', d.message);
      }
      advertise = d.advertise;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.socket?.setNoDelay(true);
    const send = (c: MeshConfig): boolean => res.write(`${JSON.stringify(c)}\n`);
    const disconnect = deps.nodes.connect(node, advertise);
    const initial = deps.meshConfig();
    if (initial) send(initial);
    const unsubscribe = deps.onConfig(send);
    // Heartbeats let both sides notice a dead connection behind a silent network.
    const heartbeat = setInterval(() => res.write('{}\n'), 5000);
    const cleanup = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      disconnect();
    };
    res.on('close', cleanup);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const handle = async (): Promise<void> => {
      if (req.method === 'POST' && path === '/v1/enroll') return enroll(req, res);
      const who = authenticate(req);
      if (typeof who === 'string') {
        deps.count('auth_refused');
        deps.log.warn({ peer: req.socket.remoteAddress, path }, who);
        return sendError(res, 401, 'UNAUTHENTICATED', who);
      }
      if (req.method === 'POST' && path === '/v1/svids') return workloadSvids(req, res, who.node);
      if (req.method === 'POST' && path === '/v1/node/svid') return renewNode(req, res, who.node);
      if (req.method === 'GET' && path === '/v1/config/stream') return configStream(req, res, who.node);
      if (req.method === 'POST' && path === '/v1/gateway/links') return linkReport(req, res, who);
      if (req.method === 'POST' && path === '/v1/flows') return flowReport(req, res, who);
      sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${path}`);
    };
    handle().catch((err: unknown) => {
      const status = err instanceof EntenteError && (err.code === 'BAD_JSON' || err.code === 'BAD_CSR' || err.code === 'BODY_TOO_LARGE') ? 400 : 500;
      deps.log.warn({ path, err: describeError(err) }, 'agent API request failed');
      if (!res.headersSent) sendError(res, status, err instanceof EntenteError ? err.code : 'INTERNAL', describeError(err));
      else res.destroy();
    });
  });
  server.on('tlsClientError', (err) => {
    deps.count('tls_refused');
    deps.log.debug({ err: err.message }, 'TLS handshake refused');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
