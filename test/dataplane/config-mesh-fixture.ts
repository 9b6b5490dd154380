// Test fixture: two real data planes whose snapshots are built from a
// MeshConfig by the agent's own builder, so REAL policies, Service ports and
// protocols decide (unlike mesh-fixture.ts's table fake). Apps record what
// they receive; helpers talk raw HTTP/1.1 and raw HTTP/2 CONNECT.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { Registry } from 'prom-client';
import { LocalCa } from '../../src/identity/local-ca.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { bundleFromPem } from '../../src/identity/trust-bundle.js';
import { toWireBundle } from '../../src/mesh/wire-bundle.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';
import { silentLogger } from '../../src/core/log.js';
import { formatSocketAddress, type SocketAddress } from '../../src/core/address.js';
import type { MeshConfig, WireService, WireWorkload } from '../../src/mesh/mesh-config.js';
import { buildDataplaneSnapshot } from '../../src/agent/build-dataplane-snapshot.js';
import type { OutboundPort, WorkloadCredentials } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { startDataplane, type Dataplane, type FlowRecord } from '../../src/agent/dataplane/index.js';
import { closeServer, issueCredentials, portOf, StaticCredentials } from './mesh-fixture.js';

export const TD = 'eu.test';
export const NS = 'shop';
const SAFETY_MS = 60_000;

export interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

/** An HTTP app that remembers every request it got. */
export interface RecordingApp {
  readonly server: HttpServer;
  readonly port: number;
  readonly received: Received[];
}

export async function startRecordingApp(host: string): Promise<RecordingApp> {
  const received: Received[] = [];
  const server = createHttpServer({ keepAlive: true }, (req, res) => {
    received.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: portOf(server), received };
}

export const workloadId = (sa: string): string => `spiffe://${TD}/ns/${NS}/sa/${sa}`;

export function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name, namespace: NS }, spec };
}

/** The services of this little mesh: payments and profile speak HTTP, reports is TCP. */
export type ServiceName = 'payments' | 'profile' | 'reports';
export const SERVICES: Readonly<Record<ServiceName, 'http' | 'tcp'>> = { payments: 'http', profile: 'http', reports: 'tcp' };

export interface ConfigMesh {
  readonly prefix: string;
  readonly ca: LocalCa;
  readonly a: Dataplane;
  readonly b: Dataplane;
  readonly registryB: Registry;
  readonly flowsB: FlowRecord[];
  /** The app behind each service (on the workload of the same name), and an undeclared stats port on payments' address. */
  readonly apps: Readonly<Record<ServiceName | 'paymentsStats' | 'reportsStats', RecordingApp>>;
  readonly addressOf: (w: ServiceName | 'frontend') => string;
  readonly frontendCreds: WorkloadCredentials;
  /** Replaces the policies (both agents get a new config version); `protocols` overrides Service protocols. */
  setConfig(policies: readonly unknown[], protocols?: Partial<Record<ServiceName, 'http' | 'tcp'>>): Promise<void>;
  /** The local listener on agent A that reaches `<service>.shop.mesh:80`. */
  outbound(service: ServiceName): SocketAddress;
  close(): Promise<void>;
}

/** "127.86.x": this helper's loopback range, a random /24 of it per test file (third octet 10 up: failure-handling's labs use 127.86.1-3). */
export function ownLoopbackPrefix(): string {
  return `127.86.${randomInt(10, 256)}`;
}

export async function startConfigMesh(policies: readonly unknown[]): Promise<ConfigMesh> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-cfgmesh-'));
  const prefix = ownLoopbackPrefix();
  const td = parseTrustDomain(TD);
  const ca = await LocalCa.loadOrCreate(join(dir, 'ca'), td);
  const addresses: Record<ServiceName | 'frontend', string> = { frontend: `${prefix}.11`, payments: `${prefix}.21`, profile: `${prefix}.22`, reports: `${prefix}.23` };
  const apps = {
    payments: await startRecordingApp(addresses.payments),
    paymentsStats: await startRecordingApp(addresses.payments),
    profile: await startRecordingApp(addresses.profile),
    reports: await startRecordingApp(addresses.reports),
    reportsStats: await startRecordingApp(addresses.reports),
  };
  const names = Object.keys(SERVICES) as ServiceName[];
  const workloads: WireWorkload[] = [
    { name: 'frontend', namespace: NS, service: 'frontend', serviceAccount: 'frontend', node: 'node-a', address: addresses.frontend },
    ...names.map((n) => ({ name: n, namespace: NS, service: n, serviceAccount: n, node: 'node-b', address: addresses[n] })),
  ];
  const credsA = new StaticCredentials();
  const credsB = new StaticCredentials();
  const frontendCreds = await issueCredentials(ca, SpiffeId.parse(workloadId('frontend')));
  credsA.byName.set(`${NS}/frontend`, frontendCreds);
  for (const n of names) credsB.byName.set(`${NS}/${n}`, await issueCredentials(ca, SpiffeId.parse(workloadId(n))));

  let version = 1;
  let currentPolicies = policies;
  let protocols: Record<ServiceName, 'http' | 'tcp'> = { ...SERVICES };
  let nodes: Record<string, string> = {};
  const config = (): MeshConfig => {
    const services: WireService[] = [
      { namespace: NS, name: 'frontend', ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], export: false },
      ...names.map((n): WireService => ({ namespace: NS, name: n, ports: [{ port: 80, targetPort: apps[n].port, protocol: protocols[n] }], export: false })),
    ];
    return {
      version,
      region: 'eu',
      trustDomain: TD,
      bundles: { [TD]: toWireBundle(bundleFromPem(ca.caCertPem, TD)) },
      services,
      workloads,
      nodes,
      remoteRegions: [],
      authorizationPolicies: currentPolicies,
      policyDigest: `v${version}`,
    };
  };
  const outboundPorts: OutboundPort[] = names.map((n) => ({ listen: { host: `${prefix}.1`, port: 0 }, host: `${n}.${NS}.mesh`, port: 80 }));
  const registryB = new Registry();
  const flowsB: FlowRecord[] = [];
  const b = await startDataplane({
    inbound: { host: `${prefix}.2`, port: 0 },
    snapshot: buildDataplaneSnapshot(config(), { node: 'node-b', outboundPorts: [] }),
    credentials: credsB,
    log: silentLogger(),
    registry: registryB,
    onFlow: (f) => flowsB.push(f),
  });
  nodes = { 'node-b': formatSocketAddress(b.inboundAddress) };
  const a = await startDataplane({
    inbound: { host: `${prefix}.1`, port: 0 },
    snapshot: buildDataplaneSnapshot(config(), { node: 'node-a', outboundPorts }),
    credentials: credsA,
    log: silentLogger(),
    registry: new Registry(),
  });
  return {
    prefix,
    ca,
    a,
    b,
    registryB,
    flowsB,
    apps,
    addressOf: (w) => addresses[w],
    frontendCreds,
    async setConfig(next, over = {}) {
      version++;
      currentPolicies = next;
      protocols = { ...SERVICES, ...over };
      await b.setSnapshot(buildDataplaneSnapshot(config(), { node: 'node-b', outboundPorts: [] }));
      await a.setSnapshot(buildDataplaneSnapshot(config(), { node: 'node-a', outboundPorts }));
    },
    outbound(service) {
      const addr = a.outboundAddresses().get(`${service}.${NS}.mesh:80`);
      if (!addr) throw new Error(`agent A has no listener for ${service}`);
      return addr;
    },
    async close() {
      await Promise.allSettled([a.close(), b.close()]);
      await Promise.allSettled(Object.values(apps).map((x) => closeServer(x.server)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawReply {
  readonly status: number;
  readonly head: string;
  readonly body: string;
  readonly error?: string;
}

/** Parses "HTTP/1.1 <status> ..." from a raw reply (0 when none came). */
export function parseRawReply(raw: string, error?: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
  return { status: m ? Number(m[1]) : 0, head, body: end === -1 ? '' : raw.slice(end + 4), ...(error !== undefined ? { error } : {}) };
}

/** One raw HTTP/1.1 request (sent byte for byte, so no client tidies the path), answered until the server closes. */
export function rawHttp(to: SocketAddress, localAddress: string, requestText: string): Promise<RawReply> {
  return new Promise((resolve) => {
    const s = netConnect({ host: to.host, port: to.port, localAddress });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const t = setTimeout(() => s.destroy(new Error('no reply within the safety bound')), SAFETY_MS);
    s.on('connect', () => s.write(requestText));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => (error = e.message));
    s.on('close', () => {
      clearTimeout(t);
      resolve(parseRawReply(Buffer.concat(chunks).toString(), error));
    });
  });
}

/** A request line plus headers, "connection: close" so the reply ends the exchange. */
export function httpRequest(method: string, target: string, headers: readonly string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, 'host: mesh', 'content-length: 0', 'connection: close', ...headers, '', ''].join('\r\n');
}

export interface ConnectResult {
  /** CONNECT response status; undefined when the session or stream died first. */
  readonly status?: number;
  readonly reason?: string;
  /** What came back on the tunnel after a 200 (the app's answer to `payload`). */
  readonly data: string;
  readonly error?: string;
}

/**
 * Opens an mTLS HTTP/2 session to agent B as a peer agent (or an attacker
 * holding `creds`) would, sends one CONNECT for `authority` and, on 200,
 * writes `payload` into the tunnel and collects the answer.
 */
export function connectDirect(mesh: ConfigMesh, creds: { certChainPem: string; privateKeyPem: string }, workload: ServiceName, authority: string, payload?: string): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const b = mesh.b.inboundAddress;
    const session = h2connect(`https://${b.host}:${b.port}`, {
      ca: mesh.ca.caCertPem,
      cert: creds.certChainPem,
      key: creds.privateKeyPem,
      servername: formatMeshSni({ workload, namespace: NS, node: 'node-b', trustDomain: TD }),
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    let status: number | undefined;
    let reason: string | undefined;
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve({ ...(status !== undefined ? { status } : {}), ...(reason !== undefined ? { reason } : {}), data: Buffer.concat(chunks).toString(), ...(error !== undefined ? { error } : {}) });
    };
    const timer = setTimeout(() => done('no answer within the safety bound'), SAFETY_MS);
    session.on('error', (err) => done(err.message));
    session.on('close', () => done('session closed'));
    const stream = session.request({ ':method': 'CONNECT', ':authority': authority });
    stream.on('response', (h) => {
      status = Number(h[':status']);
      const r = h['x-entente-deny-reason'];
      if (typeof r === 'string') reason = r;
      if (status !== 200 || payload === undefined) {
        done();
        return;
      }
      stream.end(payload);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => done());
    stream.on('error', (err) => done(err.message));
  });
}
