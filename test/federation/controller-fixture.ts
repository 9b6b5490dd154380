// Controllers started in-process, with real sockets, for federation tests:
// each on its own loopback address, with one exported service, fast pulls.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';
import { createLogger, silentLogger } from '../../src/core/log.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { controllerConfigSchema } from '../../src/controller/controller-config.js';
import { readAdminCredential, startController, type RunningController } from '../../src/controller/controller.js';
import { API_VERSION } from '../../src/policy/resources.js';

export const PEERS_PORT = 15013;

/** "127.a.b": a loopback /24 of our own (b >= 100: the lab uses 127.N.1-9.x), so parallel test files do not collide. */
export function randomPrefix(): string {
  return `127.${randomInt(20, 250)}.${randomInt(100, 250)}`;
}

export interface PeerSpec {
  readonly region: string;
  /** Omit for a region reached only through relays. */
  readonly url?: string;
  readonly bundle: string;
  /** A SPIFFE bundle endpoint to follow for this peer's bundle. */
  readonly bundleEndpoint?: { url: string; spiffeId: string };
}

export interface FixtureOptions {
  /** federation.staleAfter (default 3s: staleness tests stay quick). */
  readonly staleAfter?: string;
  /** Serve this region's bundle endpoint (https_spiffe) on this port of the controller's address. */
  readonly bundleEndpointPort?: number;
  /** Status URLs of anycast announcers whose state the region carries. */
  readonly anycastStatusUrls?: readonly string[];
}

export interface FixtureController {
  readonly region: string;
  readonly ip: string;
  readonly dataDir: string;
  readonly resourcesDir: string;
  readonly running: RunningController;
  status(): Promise<ControllerStatus>;
  peer(region: string): Promise<PeerView | undefined>;
  /** Writes one more exported service and makes the controller reload its resources. */
  exportService(name: string): Promise<void>;
  /** Writes (or replaces) one resource file and makes the controller reload its resources. */
  writeResources(file: string, yaml: string): Promise<void>;
}

export interface PeerView {
  region: string;
  reachable: boolean;
  relayOnly: boolean;
  stale: boolean;
  version?: number;
  via?: string;
  rejected: number;
  lastRejected?: string;
  exportedServices: string[];
  bundleSequence?: string;
  bundleEndpoint?: { url: string; lastFetchAt?: string; lastError?: string; lastSequence?: string };
}

export interface ControllerStatus {
  regionStateVersion: number;
  peers: PeerView[];
}

export const trustDomainOf = (region: string): string => `${region}.fed.test`;
export const bundlePathOf = (root: string, region: string): string => join(root, region, 'data', 'bundle.json');

function serviceYaml(region: string, name: string, address: string): string {
  const doc = (kind: string, n: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name: n, namespace: 'shop' }, spec });
  return [
    doc('Service', name, { ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], export: true }),
    doc('Workload', `${name}-1`, { service: name, serviceAccount: name, node: `${region}-node-1`, address }),
  ].join('---\n');
}

export async function startFixtureController(root: string, region: string, ip: string, peers: readonly PeerSpec[], opts: FixtureOptions = {}): Promise<FixtureController> {
  const dir = join(root, region);
  const resourcesDir = join(dir, 'resources');
  mkdirSync(resourcesDir, { recursive: true });
  writeFileSync(join(resourcesDir, `${region}-app.yaml`), serviceYaml(region, `${region}-app`, '10.9.9.9'));
  const config = controllerConfigSchema.parse({
    region,
    trustDomain: trustDomainOf(region),
    dataDir: join(dir, 'data'),
    resources: resourcesDir,
    listen: {
      agents: `${ip}:15012`,
      peers: `${ip}:${PEERS_PORT}`,
      admin: `${ip}:15000`,
      ...(opts.bundleEndpointPort ? { bundleEndpoint: `${ip}:${opts.bundleEndpointPort}` } : {}),
    },
    federation: { pullInterval: '200ms', staleAfter: opts.staleAfter ?? '3s', bundlePollInterval: '1s' },
    ...(opts.anycastStatusUrls ? { anycast: { statusUrls: opts.anycastStatusUrls, pollInterval: '200ms' } } : {}),
    peers: peers.map((p) => ({
      region: p.region,
      trustDomain: trustDomainOf(p.region),
      bundle: p.bundle,
      ...(p.url ? { url: p.url } : {}),
      ...(p.bundleEndpoint ? { bundleEndpoint: p.bundleEndpoint } : {}),
    })),
  });
  const log = process.env.ENTENTE_TEST_LOG ? createLogger('controller', { region }) : silentLogger();
  const running = await startController(config, log);
  const admin = `http://${ip}:15000`;
  const status = async (): Promise<ControllerStatus> => (await httpJson<ControllerStatus>(`${admin}/v1/status`)).body;
  const writeResources = async (file: string, yaml: string): Promise<void> => {
    writeFileSync(join(resourcesDir, file), yaml);
    const res = await httpJson(`${admin}/v1/resources/reload`, { method: 'POST', headers: { authorization: `Bearer ${readAdminCredential(config.dataDir)}` } });
    if (res.status !== 200) throw new Error(`reload refused: ${JSON.stringify(res.body)}`);
  };
  return {
    region,
    ip,
    dataDir: config.dataDir,
    resourcesDir,
    running,
    status,
    peer: async (r) => (await status()).peers.find((p) => p.region === r),
    exportService: (name) => writeResources(`${name}.yaml`, serviceYaml(region, name, '10.9.9.10')),
    writeResources,
  };
}
