// The attestation scenario's harness (kept from the earlier benchmark): two
// data planes in this process with hand-built snapshots, so the scenario can
// swap the caller's attest selectors between runs without a controller.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain, type TrustDomain } from '../../src/identity/spiffe-id.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';
import { silentLogger } from '../../src/core/log.js';
import type { SocketAddress } from '../../src/core/address.js';
import type { Authorizer, DataplaneSnapshot, LocalWorkload, OutboundPort, ServiceRoute, WorkloadCredentials } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { startDataplane } from '../../src/agent/dataplane/index.js';
import type { AttestSelectors } from '../../src/agent/attest/attest-selectors.js';

import { DEFAULT_TRAFFIC_TABLE } from '../../src/policy/traffic-policy.js';

const allowAll: Authorizer = { authorize: () => ({ kind: 'allow', policy: 'bench', rule: 0 }) };

function snapshotOf(td: TrustDomain, caPem: string, workloads: LocalWorkload[], routes: Map<string, ServiceRoute>, outboundPorts: OutboundPort[]): DataplaneSnapshot {
  const roots = [new X509Certificate(caPem)];
  return {
    generation: 1,
    region: 'eu',
    trustDomain: td,
    localWorkloadsByAddress: new Map(workloads.map((w) => [w.address, w])),
    localWorkloadsByName: new Map(workloads.map((w) => [`${w.namespace}/${w.name}`, w])),
    routes,
    outboundPorts,
    authorizer: allowAll,
    authoritiesFor: (t) => (t === td ? roots : undefined),
    allAuthoritiesPem: [caPem],
    regionOf: (t) => (t === td ? 'eu' : undefined),
    traffic: DEFAULT_TRAFFIC_TABLE,
  };
}

async function creds(ca: LocalCa, id: SpiffeId): Promise<WorkloadCredentials> {
  const keys = await generateKeyPair();
  const svid = await ca.issue(id, keys.publicKey, 3_600_000);
  return { spiffeId: id, certChainPem: svid.chainPem, privateKeyPem: await privateKeyToPem(keys.privateKey), notAfter: svid.notAfter };
}

export interface AttestMesh {
  readonly entry: SocketAddress;
  /** Swaps in a snapshot where frontend's Workload declares these selectors (none: address only). */
  setFrontendAttest(attest: AttestSelectors | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Agent A (frontend at 127.0.0.1, wrk's and Node's source address) and agent B (catalog at the upstream) on `net`.1 and .2. */
export async function startAttestMesh(dir: string, net: string, upstream: SocketAddress): Promise<AttestMesh> {
  const td = parseTrustDomain('eu.test');
  const ca = await LocalCa.loadOrCreate(join(dir, 'ca-attest'), td);
  const frontend: LocalWorkload = { name: 'frontend', namespace: 'shop', service: 'frontend', spiffeId: SpiffeId.forWorkload(td, 'shop', 'frontend'), address: '127.0.0.1', ports: new Map() };
  const catalog: LocalWorkload = { name: 'catalog', namespace: 'shop', service: 'catalog', spiffeId: SpiffeId.forWorkload(td, 'shop', 'catalog'), address: upstream.host, ports: new Map([[upstream.port, { servicePort: 80, protocol: 'tcp' }]]) };
  const cc = await creds(ca, catalog.spiffeId);
  const b = await startDataplane({
    inbound: { host: `${net}.2`, port: 0 },
    snapshot: snapshotOf(td, ca.caCertPem, [catalog], new Map(), []),
    credentials: { credentialsFor: () => cc },
    log: silentLogger(),
    registry: new Registry(),
  });
  const endpoint = {
    spiffeId: catalog.spiffeId,
    sni: formatMeshSni({ workload: 'catalog', namespace: 'shop', node: 'node-b', trustDomain: td }),
    dial: b.inboundAddress,
    authority: `${upstream.host}:${upstream.port}`,
    region: 'eu',
    weight: 1,
  };
  const routes = new Map<string, ServiceRoute>([['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[80, [endpoint]]]) }]]);
  const fc = await creds(ca, frontend.spiffeId);
  const outboundPorts: OutboundPort[] = [{ listen: { host: `${net}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 80 }];
  const a = await startDataplane({
    inbound: { host: `${net}.1`, port: 0 },
    snapshot: snapshotOf(td, ca.caCertPem, [frontend], routes, outboundPorts),
    credentials: { credentialsFor: () => fc },
    log: silentLogger(),
    registry: new Registry(),
  });
  const entry = a.outboundAddresses().get('catalog.shop.mesh:80');
  if (!entry) {
    await a.close();
    await b.close();
    throw new Error('agent A opened no outbound listener');
  }
  return {
    entry,
    setFrontendAttest: (attest) => a.setSnapshot(snapshotOf(td, ca.caCertPem, [attest ? { ...frontend, attest } : frontend], routes, outboundPorts)),
    async close() {
      await a.close();
      await b.close();
    },
  };
}
