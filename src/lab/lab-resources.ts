// The demo application's resources as YAML: the shared file every region
// carries identically (every Service of the mesh, since Service names are
// mesh-wide, the authorization policies and a TrafficPolicy) and each region's own Workloads. Every Workload
// declares attest selectors: the lab's demo apps are processes of the lab's
// own user running the lab's node executable, so another user's process is refused.
import { realpathSync } from 'node:fs';
import { stringify } from 'yaml';
import { API_VERSION } from '../policy/resources.js';
import type { WireAttest } from '../mesh/mesh-config.js';
import { NAMESPACE, PORTS, type LabTopology } from './lab-topology.js';

const doc = (kind: string, name: string, spec: unknown) => ({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NAMESPACE }, spec });

/**
 * Resources a caller adds to the lab's own (tests that bring their own apps):
 * YAML documents for every region's shared file (Services, policies), for one
 * region's workloads file (Workloads), and per-service outbound listeners of
 * the agents (agent.yaml outboundPorts), keyed by node.
 */
export interface LabExtraResources {
  readonly sharedYaml?: string;
  readonly regionYaml?: Readonly<Record<string, string>>;
  readonly outboundPorts?: Readonly<Record<string, readonly { host: string; port: number; listen: string }[]>>;
  /** agent.yaml `telemetry` of every agent (e.g. an OTLP collector to export to). */
  readonly agentTelemetry?: Readonly<Record<string, unknown>>;
}

/** A YAML stream with more documents after it (either may be empty). */
export function appendYaml(base: string, more: string | undefined): string {
  if (!more?.trim()) return base;
  return base.trim() ? `${base.trimEnd()}\n---\n${more}` : more;
}

/** What the lab's demo app processes are: this process's user and node binary (the supervisor spawns process.execPath). */
export function labAttest(): WireAttest {
  return { uid: process.getuid?.() ?? 0, executable: realpathSync(process.execPath) };
}

/** The Workloads a region runs: the only part of the policy tree that differs between regions. */
export function regionResourcesYaml(topo: LabTopology, region: string, attest: WireAttest = labAttest()): string {
  const docs = topo.workloads
    .filter((w) => w.region === region)
    .map((w) => doc('Workload', w.name, { service: w.service, serviceAccount: w.service, node: w.node, address: w.address, attest }));
  return docs.map((d) => stringify(d)).join('---\n');
}

/**
 * Identical in every region: each Service of the mesh (a region without its
 * Workloads has no local endpoints and does not export it, but policies may
 * select it and its callers reach it in other regions), then the policies.
 */
export function policiesYaml(topo: LabTopology): string {
  const services = [...new Set(topo.workloads.map((w) => w.service))]
    .sort()
    .map((name) => doc('Service', name, { ports: [{ port: 80, targetPort: PORTS.app, protocol: 'http' }], export: true }));
  const id = (service: string): string => {
    const w = topo.workloads.find((x) => x.service === service);
    const r = topo.regions.find((x) => x.name === w?.region);
    return `spiffe://${r?.trustDomain}/ns/${NAMESPACE}/sa/${service}`;
  };
  const has = (s: string): boolean => topo.workloads.some((w) => w.service === s);
  const policies = [
    doc('AuthorizationPolicy', 'catalog-readers', {
      selector: { services: ['catalog'] },
      action: 'ALLOW',
      rules: [{ from: [{ principals: ['frontend', 'shipping'].filter(has).map(id) }] }],
    }),
    // An explicit DENY, so that the lab shows both kinds of refusal: this one names its rule
    // (flows, the dashboard), shipping -> payments is refused by default deny.
    ...(has('ledger') && has('catalog')
      ? [
          doc('AuthorizationPolicy', 'catalog-deny-ledger', {
            selector: { services: ['catalog'] },
            action: 'DENY',
            rules: [{ from: [{ principals: [id('ledger')] }] }],
          }),
        ]
      : []),
    doc('AuthorizationPolicy', 'ledger-readers', {
      selector: { services: ['ledger'] },
      action: 'ALLOW',
      // A method rule: ledger's port is http (as every lab Service's), so each request is authorized on its own.
      rules: [{ from: [{ principals: [id('catalog')] }], to: [{ methods: ['GET'] }] }],
    }),
    doc('AuthorizationPolicy', 'reviews-readers', {
      selector: { services: ['reviews'] },
      action: 'ALLOW',
      rules: [{ from: [{ namespaces: [NAMESPACE] }], to: [{ ports: [80] }] }],
    }),
  ];
  if (has('payments')) {
    policies.push(
      doc('AuthorizationPolicy', 'payments-charge', {
        selector: { services: ['payments'] },
        action: 'ALLOW',
        rules: [{ from: [{ principals: [id('frontend')] }], to: [{ methods: ['POST'], paths: ['/charge'] }] }],
      }),
    );
  }
  if (has('shipping') && has('frontend')) {
    policies.push(
      doc('AuthorizationPolicy', 'shipping-quotes', {
        selector: { services: ['shipping'] },
        action: 'ALLOW',
        rules: [{ from: [{ principals: [id('frontend')] }], to: [{ methods: ['GET'], paths: ['/quote'] }] }],
      }),
    );
  }
  // Client side: how every region's agents call catalog (frontend -> catalog and
  // shipping -> catalog cross a WAN link). GETs only, so retries are safe; a
  // per-try bound well above the lab's widest RTT, under the whole-call bound.
  const traffic = [
    doc('TrafficPolicy', 'catalog-callers', {
      service: 'catalog',
      timeouts: { connect: '2s', request: '10s' },
      retries: { attempts: 2, perTryTimeout: '3s', retryOn: ['connect-failure', 'refused-stream', 'reset', 'gateway-error'], backoff: { base: '25ms', max: '250ms' } },
      outlierDetection: { consecutiveFailures: 3, baseEjection: '5s', maxEjection: '1m' },
    }),
    // frontend -> payments is a POST: retried only because the route is marked so. A real
    // charge API makes that safe with an idempotency key; a stream cut with a path (a
    // partition before the probes see it) is then sent again on the next path, not lost.
    ...(!topo.workloads.some((w) => w.service === 'payments') ? [] : [doc('TrafficPolicy', 'payments-callers', {
      service: 'payments',
      timeouts: { connect: '2s', request: '10s' },
      retries: {
        attempts: 2, perTryTimeout: '3s', retryOn: ['connect-failure', 'refused-stream', 'reset', 'gateway-error'], backoff: { base: '25ms', max: '250ms' },
        retryableRoutes: [{ methods: ['POST'], paths: ['/charge'] }],
      },
      outlierDetection: { consecutiveFailures: 3, baseEjection: '5s', maxEjection: '1m' },
    })]),
  ];
  return `# Shared by every region: the same file in each.\n${[...services, ...policies, ...traffic].map((d) => stringify(d)).join('---\n')}`;
}
