// The lab's world, as data: regions with their loopback addresses and ports,
// the WAN latency matrix, the demo application's workloads and the routes it
// drives. Pure: the lab writes configs from it and starts processes.
import { EntenteError } from '../core/errors.js';

export interface LabOptions {
  /** Region names, in order; each gets 127.<prefix>.<index+1>.0/24. */
  readonly regions: readonly string[];
  /** First two octets of the loopback range, e.g. "127.77". */
  readonly ipPrefix: string;
  /** Round-trip times in ms between region pairs, keyed "a-b" (either order). */
  readonly rttMs: Readonly<Record<string, number>>;
  readonly jitterMs: number;
  /** Requests per second per route. */
  readonly rate: number;
}

export const DEFAULT_REGIONS = ['eu', 'us', 'ap'] as const;

/**
 * Round-trip times between real cloud regions (Frankfurt, N. Virginia,
 * Singapore), as public inter-region latency tables report them.
 * Other pairs default to 150 ms.
 */
export const DEFAULT_RTT_MS: Readonly<Record<string, number>> = { 'eu-us': 90, 'eu-ap': 160, 'us-ap': 220 };

export const PORTS = {
  controllerAgents: 15012,
  controllerPeers: 15013,
  controllerAdmin: 15000,
  gateway: 15443,
  gatewayMetrics: 15090,
  agentInbound: 15008,
  agentProxy: 15001,
  agentMetrics: 15020,
  app: 8080,
  appStats: 8081,
} as const;

export interface LabWorkload {
  readonly region: string;
  readonly service: string;
  readonly name: string;
  readonly node: string;
  readonly address: string;
}

export interface LabRoute {
  readonly id: string;
  readonly from: { region: string; service: string };
  readonly to: { region: string; service: string };
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly expect: 'allow' | 'deny';
  /** Why the route is expected to be denied (for the report). */
  readonly note: string;
}

export interface LabRegion {
  readonly name: string;
  readonly index: number;
  readonly trustDomain: string;
  readonly controllerIp: string;
  readonly gatewayIp: string;
  readonly agents: readonly { node: string; ip: string }[];
  /** Where region `other`'s links from this region listen (the WAN emulator's near end). */
  linkIp(other: LabRegion): string;
}

export interface LabTopology {
  readonly options: LabOptions;
  readonly regions: readonly LabRegion[];
  readonly workloads: readonly LabWorkload[];
  readonly routes: readonly LabRoute[];
  rtt(a: string, b: string): number;
}

export const NAMESPACE = 'shop';

/** Two services per region, named after the demo shop; region i hosts SERVICES[i % 3]. */
const SERVICES: readonly (readonly [string, string])[] = [
  ['frontend', 'ledger'],
  ['catalog', 'reviews'],
  ['payments', 'shipping'],
];

/** "127.N" with N from 0 to 255: the loopback range a lab takes. */
export function isLabIpPrefix(prefix: string): boolean {
  return /^127\.\d{1,3}$/.test(prefix) && Number(prefix.split('.')[1]) <= 255;
}

export function buildTopology(options: LabOptions): LabTopology {
  if (options.regions.length < 2) throw new EntenteError('LAB_REGIONS', 'the lab needs at least two regions');
  if (!isLabIpPrefix(options.ipPrefix)) {
    throw new EntenteError('LAB_IP_PREFIX', `ip prefix "${options.ipPrefix}" is not of the form 127.N`, { hint: 'e.g. 127.77' });
  }
  const regions: LabRegion[] = options.regions.map((name, index) => {
    const net = `${options.ipPrefix}.${index + 1}`;
    return {
      name,
      index,
      trustDomain: `${name}.entente.lab`,
      controllerIp: `${net}.1`,
      gatewayIp: `${net}.2`,
      agents: [1, 2].map((n) => ({ node: `${name}-node-${n}`, ip: `${net}.${10 + n}` })),
      linkIp: (other: LabRegion) => `${net}.${200 + other.index}`,
    };
  });
  const workloads: LabWorkload[] = regions.flatMap((r) =>
    SERVICES[r.index % SERVICES.length]!.map((service, i) => ({
      region: r.name,
      service: r.index < SERVICES.length ? service : `${service}-${r.name}`,
      name: `${r.index < SERVICES.length ? service : `${service}-${r.name}`}-1`,
      node: r.agents[i]!.node,
      address: `${options.ipPrefix}.${r.index + 1}.${101 + i}`,
    })),
  );
  // Second replicas (three regions or more), so that one region's outage leaves
  // most routes servable elsewhere. Agents prefer the nearest region by RTT:
  // eu's frontend reaches payments in us (90 ms) before ap (160 ms), catalog and
  // reviews in us before ap; us's catalog reaches ledger in eu before ap.
  if (regions.length >= 3) {
    const replicas: [number, string, number][] = [
      [1, 'payments', 0],
      [2, 'catalog', 0],
      [2, 'ledger', 1],
      [2, 'reviews', 1],
    ];
    const used = new Map<number, number>();
    for (const [ri, service, agent] of replicas) {
      const r = regions[ri]!;
      const octet = 103 + (used.get(ri) ?? 0);
      used.set(ri, (used.get(ri) ?? 0) + 1);
      workloads.push({ region: r.name, service, name: `${service}-2`, node: r.agents[agent]!.node, address: `${options.ipPrefix}.${ri + 1}.${octet}` });
    }
  }
  const svc = (regionIndex: number, i: number): { region: string; service: string } => {
    const r = regions[regionIndex % regions.length]!;
    return { region: r.name, service: workloads.find((w) => w.region === r.name && w.node === r.agents[i]!.node && w.name.endsWith('-1'))!.service };
  };
  const routes: LabRoute[] = [
    { id: 'frontend->catalog', from: svc(0, 0), to: svc(1, 0), method: 'GET', path: '/items', expect: 'allow', note: 'catalog-readers allows frontend' },
    { id: 'catalog->ledger', from: svc(1, 0), to: svc(0, 1), method: 'GET', path: '/balance', expect: 'allow', note: 'ledger-readers allows catalog GET (HTTP mode: ledger sees the caller)' },
    { id: 'ledger->reviews', from: svc(0, 1), to: svc(1, 1), method: 'GET', path: '/reviews', expect: 'allow', note: 'reviews-readers allows the shop namespace' },
    { id: 'ledger->catalog', from: svc(0, 1), to: svc(1, 0), method: 'GET', path: '/items', expect: 'deny', note: 'catalog-deny-ledger denies ledger (a DENY rule, 403 per request)' },
  ];
  if (regions.length >= 3) {
    routes.push(
      { id: 'frontend->payments', from: svc(0, 0), to: svc(2, 0), method: 'POST', path: '/charge', expect: 'allow', note: 'payments-charge allows frontend POST /charge' },
      { id: 'shipping->catalog', from: svc(2, 1), to: svc(1, 0), method: 'GET', path: '/items', expect: 'allow', note: 'catalog-readers allows shipping' },
      { id: 'shipping->payments', from: svc(2, 1), to: svc(2, 0), method: 'POST', path: '/charge', expect: 'deny', note: 'payments-charge allows only frontend (default deny, 403 from payments\' agent)' },
      { id: 'catalog->payments', from: svc(1, 0), to: svc(2, 0), method: 'POST', path: '/refund', expect: 'deny', note: 'payments-charge allows only POST /charge' },
      // Only ap hosts shipping: with eu -> ap cut, eu reaches it only by relay through us.
      { id: 'frontend->shipping', from: svc(0, 0), to: svc(2, 1), method: 'GET', path: '/quote', expect: 'allow', note: 'shipping-quotes allows frontend GET /quote' },
    );
  }
  return {
    options,
    regions,
    workloads,
    routes,
    rtt(a, b) {
      return options.rttMs[`${a}-${b}`] ?? options.rttMs[`${b}-${a}`] ?? 150;
    },
  };
}
