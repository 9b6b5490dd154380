// Test fixture for the data plane: two trust domains (LocalCa in temp dirs),
// SVIDs, a table Authorizer fake, snapshot builders, and a two-agent mesh on a
// random loopback /24 with real app servers behind agent B.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey, createPublicKey, randomInt } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type Server as NetServer, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain, type TrustDomain } from '../../src/identity/spiffe-id.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import type { SocketAddress } from '../../src/core/address.js';
import type { Authorizer, CredentialProvider, DataplaneSnapshot, Endpoint, LocalWorkload, OutboundPort, ServiceRoute, WorkloadCredentials, WorkloadPort } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { startDataplane, type Dataplane, type DataplaneTuning, type FlowRecord } from '../../src/agent/dataplane/index.js';
import type { AttestSelectors } from '../../src/agent/attest/attest-selectors.js';
import { DEFAULT_TRAFFIC_TABLE, type TrafficTable } from '../../src/policy/traffic-policy.js';

export async function issueCredentials(ca: LocalCa, id: SpiffeId, ttlMs = 3_600_000): Promise<WorkloadCredentials> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(id, keys.publicKey, ttlMs);
  return { spiffeId: id, certChainPem: svid.chainPem, privateKeyPem: await privateKeyToPem(keys.privateKey), notAfter: svid.notAfter };
}

export class StaticCredentials implements CredentialProvider {
  readonly byName = new Map<string, WorkloadCredentials>();
  set(w: LocalWorkload, c: WorkloadCredentials): void {
    this.byName.set(`${w.namespace}/${w.name}`, c);
  }
  credentialsFor(w: LocalWorkload): WorkloadCredentials | undefined {
    return this.byName.get(`${w.namespace}/${w.name}`);
  }
}

export interface AllowRule {
  readonly caller: string;
  /** "namespace/name" */
  readonly service: string;
  readonly port?: number;
  readonly method?: string;
  readonly pathPrefix?: string;
}

/** The fake: an allow-list table, default deny (which ports are HTTP is the workloads' `ports`). */
export class TableAuthorizer implements Authorizer {
  calls = 0;
  constructor(private readonly rules: readonly AllowRule[]) {}
  authorize(req: Parameters<Authorizer['authorize']>[0]): ReturnType<Authorizer['authorize']> {
    this.calls++;
    const svc = `${req.service.namespace}/${req.service.name}`;
    const i = this.rules.findIndex(
      (r) =>
        r.caller === req.caller.toString() &&
        r.service === svc &&
        (r.port === undefined || r.port === req.port) &&
        (r.method === undefined || r.method === req.method) &&
        (r.pathPrefix === undefined || (req.path ?? '').startsWith(r.pathPrefix)),
    );
    if (i >= 0) return { kind: 'allow', policy: 'table', rule: i };
    return { kind: 'deny', reason: `no rule allows ${req.caller} to call ${svc}:${req.port}${req.method ? ` ${req.method} ${req.path}` : ''}` };
  }
}

export interface Bundle {
  readonly trustDomain: TrustDomain;
  readonly region: string;
  readonly pems: readonly string[];
}

export function makeSnapshot(o: {
  generation?: number;
  region: string;
  trustDomain: TrustDomain;
  workloads: readonly LocalWorkload[];
  routes?: ReadonlyMap<string, ServiceRoute>;
  outboundPorts?: readonly OutboundPort[];
  authorizer: Authorizer;
  /** Default: DEFAULT_TRAFFIC for every (service, port). */
  traffic?: TrafficTable;
  bundles: readonly Bundle[];
}): DataplaneSnapshot {
  const certs = new Map(o.bundles.map((b) => [b.trustDomain, b.pems.map((p) => new X509Certificate(p))]));
  return {
    generation: o.generation ?? 1,
    region: o.region,
    trustDomain: o.trustDomain,
    localWorkloadsByAddress: new Map(o.workloads.map((w) => [w.address, w])),
    localWorkloadsByName: new Map(o.workloads.map((w) => [`${w.namespace}/${w.name}`, w])),
    routes: o.routes ?? new Map(),
    outboundPorts: o.outboundPorts ?? [],
    authorizer: o.authorizer,
    traffic: o.traffic ?? DEFAULT_TRAFFIC_TABLE,
    authoritiesFor: (td) => certs.get(td),
    allAuthoritiesPem: o.bundles.flatMap((b) => b.pems),
    regionOf: (td) => o.bundles.find((b) => b.trustDomain === td)?.region,
  };
}

export function workload(td: TrustDomain, namespace: string, name: string, address: string, service = name): LocalWorkload {
  return { name, namespace, service, spiffeId: SpiffeId.forWorkload(td, namespace, name), address, ports: new Map() };
}

/** The workload with its Service's declared ports: [target port (where the app listens), Service port, protocol]. */
export function withPorts(w: LocalWorkload, ports: readonly (readonly [number, number, WorkloadPort['protocol']])[]): LocalWorkload {
  return { ...w, ports: new Map(ports.map(([target, servicePort, protocol]) => [target, { servicePort, protocol }])) };
}

export function endpointOf(w: LocalWorkload, node: string, dial: SocketAddress, targetPort: number, region: string): Endpoint {
  return {
    spiffeId: w.spiffeId,
    sni: formatMeshSni({ workload: w.name, namespace: w.namespace, node, trustDomain: w.spiffeId.trustDomain }),
    dial,
    authority: `${w.address}:${targetPort}`,
    region,
    weight: 1,
  };
}

/** "127.a.b": a loopback /24 of our own, so parallel test files do not collide. */
export function randomLoopbackPrefix(): string {
  return `127.${randomInt(1, 255)}.${randomInt(10, 250)}`; // third octet from 10: never a lab's 127.N.<1-3>
}

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const v = await m.get();
  return v.values.filter((x) => Object.entries(labels).every(([k, val]) => String((x.labels as Record<string, unknown>)[k]) === val)).reduce((a, x) => a + x.value, 0);
}

/** An HTTP app that answers with what it received, as JSON. */
export function startEchoHttp(host: string, port = 0): Promise<HttpServer> {
  const server = createHttpServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

/** A TCP app that reads until the caller half-closes, then answers "echo:<bytes>" and closes. */
export function startHalfCloseEcho(host: string, port = 0): Promise<NetServer> {
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('echo:'), ...chunks])));
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

export function portOf(server: HttpServer | NetServer): number {
  const a = server.address();
  if (!a || typeof a !== 'object') throw new Error('server not listening');
  return a.port;
}

/** Connects from `localAddress`, writes `payload`, half-closes, and collects the answer. */
export function exchange(to: SocketAddress, localAddress: string, payload: string | Buffer, timeoutMs = 60_000): Promise<{ data: string; raw: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const s: Socket = netConnect({ host: to.host, port: to.port, localAddress, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const t = setTimeout(() => s.destroy(new Error('exchange timed out')), timeoutMs);
    s.on('connect', () => s.end(payload));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => (error = e.message));
    s.on('close', () => {
      clearTimeout(t);
      const raw = Buffer.concat(chunks);
      resolve({ data: raw.toString(), raw, error });
    });
  });
}

export function closeServer(s: HttpServer | NetServer): Promise<void> {
  return new Promise((r) => {
    (s as HttpServer).closeAllConnections?.();
    s.close(() => r());
  });
}

/**
 * Agent A (region eu) hosts "frontend"; agent B (eu) hosts catalog (an HTTP app
 * and a half-close echo, both tcp ports), orders (an http port) and billing
 * (nobody may call it).
 */
export interface Mesh {
  readonly dir: string;
  readonly prefix: string;
  readonly eu: LocalCa;
  readonly us: LocalCa;
  readonly frontend: LocalWorkload;
  readonly catalog: LocalWorkload;
  readonly orders: LocalWorkload;
  readonly billing: LocalWorkload;
  readonly credsA: StaticCredentials;
  readonly credsB: StaticCredentials;
  readonly registryA: Registry;
  registryB: Registry;
  readonly flowsA: FlowRecord[];
  readonly flowsB: FlowRecord[];
  readonly a: Dataplane;
  b: Dataplane;
  readonly snapshotA: (extra?: SnapshotAExtra) => DataplaneSnapshot;
  readonly snapshotB: () => DataplaneSnapshot;
  readonly apps: { catalogHttp: HttpServer; catalogEcho: NetServer; ordersHttp: HttpServer; billingHttp: HttpServer };
  restartB(): Promise<void>;
  close(): Promise<void>;
}

/** What a test may vary in agent A's snapshot; `frontendAttest`: the selectors frontend's Workload declares. */
export interface SnapshotAExtra {
  outboundPorts?: readonly OutboundPort[];
  generation?: number;
  frontendAttest?: AttestSelectors;
}

export async function startMesh(opts: { httpProxy?: boolean; tuningA?: Partial<DataplaneTuning>; requireSelectorsA?: boolean; tuningB?: Partial<DataplaneTuning>; logB?: Logger } = {}): Promise<Mesh> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-dp-'));
  const prefix = randomLoopbackPrefix();
  const euTd = parseTrustDomain('eu.test');
  const usTd = parseTrustDomain('us.test');
  const eu = await LocalCa.loadOrCreate(join(dir, 'eu'), euTd);
  const us = await LocalCa.loadOrCreate(join(dir, 'us'), usTd);
  const frontend = workload(euTd, 'shop', 'frontend', `${prefix}.11`);
  const apps = {
    catalogHttp: await startEchoHttp(`${prefix}.21`),
    catalogEcho: await startHalfCloseEcho(`${prefix}.21`),
    ordersHttp: await startEchoHttp(`${prefix}.22`),
    billingHttp: await startEchoHttp(`${prefix}.23`),
  };
  // Service ports: catalog 80 (HTTP app, carried as tcp) and 7000 (echo), orders 80 (http), billing 80 (tcp).
  const catalog = withPorts(workload(euTd, 'shop', 'catalog', `${prefix}.21`), [[portOf(apps.catalogHttp), 80, 'tcp'], [portOf(apps.catalogEcho), 7000, 'tcp']]);
  const orders = withPorts(workload(euTd, 'shop', 'orders', `${prefix}.22`), [[portOf(apps.ordersHttp), 80, 'http']]);
  const billing = withPorts(workload(euTd, 'shop', 'billing', `${prefix}.23`), [[portOf(apps.billingHttp), 80, 'tcp']]);
  const credsA = new StaticCredentials();
  const credsB = new StaticCredentials();
  credsA.set(frontend, await issueCredentials(eu, frontend.spiffeId));
  for (const w of [catalog, orders, billing]) credsB.set(w, await issueCredentials(eu, w.spiffeId));

  const bundles: Bundle[] = [
    { trustDomain: euTd, region: 'eu', pems: [eu.caCertPem] },
    { trustDomain: usTd, region: 'us', pems: [us.caCertPem] },
  ];
  const caller = frontend.spiffeId.toString();
  const authorizerB = new TableAuthorizer(
    [
      { caller, service: 'shop/catalog' },
      { caller, service: 'shop/orders', method: 'GET', pathPrefix: '/public/' },
      { caller, service: 'shop/orders', method: 'POST', pathPrefix: '/public/' },
    ],
  );
  const snapshotB = (): DataplaneSnapshot => makeSnapshot({ region: 'eu', trustDomain: euTd, workloads: [catalog, orders, billing], authorizer: authorizerB, bundles });
  const registryA = new Registry();
  const flowsA: FlowRecord[] = [];
  const flowsB: FlowRecord[] = [];
  const startB = (registry: Registry, port: number): Promise<Dataplane> =>
    startDataplane({ inbound: { host: `${prefix}.2`, port }, snapshot: snapshotB(), credentials: credsB, log: opts.logB ?? silentLogger(), registry, onFlow: (f) => flowsB.push(f), ...(opts.tuningB ? { tuning: opts.tuningB } : {}) });
  const registryB = new Registry();
  const b = await startB(registryB, 0);
  const dialB = b.inboundAddress;
  const routes = new Map<string, ServiceRoute>([
    ['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[80, [endpointOf(catalog, 'node-b', dialB, portOf(apps.catalogHttp), 'eu')]], [7000, [endpointOf(catalog, 'node-b', dialB, portOf(apps.catalogEcho), 'eu')]]]) }],
    ['orders.shop.mesh', { namespace: 'shop', name: 'orders', ports: new Map([[80, [endpointOf(orders, 'node-b', dialB, portOf(apps.ordersHttp), 'eu')]]]), protocols: new Map([[80, 'http' as const]]) }],
    ['billing.shop.mesh', { namespace: 'shop', name: 'billing', ports: new Map([[80, [endpointOf(billing, 'node-b', dialB, portOf(apps.billingHttp), 'eu')]]]) }],
  ]);
  const defaultPorts: OutboundPort[] = [
    { listen: { host: `${prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 80 },
    { listen: { host: `${prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 7000 },
    { listen: { host: `${prefix}.1`, port: 0 }, host: 'billing.shop.mesh', port: 80 },
  ];
  const snapshotA = (extra: SnapshotAExtra = {}): DataplaneSnapshot =>
    makeSnapshot({
      generation: extra.generation ?? 1,
      region: 'eu',
      trustDomain: euTd,
      workloads: [extra.frontendAttest ? { ...frontend, attest: extra.frontendAttest } : frontend],
      routes,
      outboundPorts: extra.outboundPorts ?? defaultPorts,
      authorizer: new TableAuthorizer([]),
      bundles,
    });
  const a = await startDataplane({
    inbound: { host: `${prefix}.1`, port: 0 },
    httpProxy: opts.httpProxy ? { host: `${prefix}.1`, port: 0 } : undefined,
    snapshot: snapshotA(),
    credentials: credsA,
    log: silentLogger(),
    registry: registryA,
    onFlow: (f) => flowsA.push(f),
    tuning: opts.tuningA,
    attestation: { requireSelectors: opts.requireSelectorsA ?? false },
  });
  const mesh: Mesh = {
    dir, prefix, eu, us, frontend, catalog, orders, billing, credsA, credsB, registryA, registryB, flowsA, flowsB, a, b, snapshotA, snapshotB, apps,
    async restartB() {
      await mesh.b.close();
      mesh.registryB = new Registry();
      mesh.b = await startB(mesh.registryB, dialB.port);
    },
    async close() {
      await Promise.allSettled([mesh.a.close(), mesh.b.close()]);
      await Promise.allSettled(Object.values(apps).map(closeServer));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return mesh;
}

/** Finds the private key of a CA on disk, whatever file layout LocalCa uses: the PEM whose public key is the certificate's. */
export async function findCaPrivateKeyPem(dir: string, caCertPem: string): Promise<string> {
  const want = new X509Certificate(caCertPem).publicKey;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else {
        const text = await readFile(p, 'utf8').catch(() => '');
        if (!text.includes('PRIVATE KEY-----')) continue;
        try {
          if (createPublicKey(createPrivateKey(text)).equals(want)) return text;
        } catch {
          /* not a usable key */
        }
      }
    }
  }
  throw new Error(`no private key for the CA certificate under ${dir}`);
}
