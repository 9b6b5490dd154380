// The lab's replicated store: a real PostgreSQL primary in the first region
// and one streaming replica in each other region, declared to the mesh as the
// Workloads of Service orders-pg behind DataRoute shop/orders, with a writer
// and a reader per region (store-client.ts) calling through their agent.
// The plan (addresses, resources) is pure; LabStore runs the servers.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EntenteError } from '../core/errors.js';
import { API_VERSION } from '../policy/resources.js';
import type { WireAttest } from '../mesh/mesh-config.js';
import { NAMESPACE, PORTS, type LabTopology } from './lab-topology.js';
import type { LabExtraResources } from './lab-resources.js';
import { startPgCluster, type PgCluster, type PgNode } from './pg-cluster.js';
import { runningAsRoot } from './pg-binaries.js';
import type { StoreCall, StoreClientConfig } from './store-client.js';
import type { ProcessSupervisor } from './process-supervisor.js';
import type { DataRouteView } from '../controller/data-probes.js';
import { eventually } from '../core/eventually.js';
import { httpJson } from '../core/http-get-json.js';

export const STORE = {
  service: 'orders-pg',
  route: 'orders',
  readWrite: 'orders-rw',
  readOnly: 'orders-ro',
  port: 5432,
  probeUser: 'entente_probe',
  appUser: 'orders_app',
  database: 'postgres',
  writerAccount: 'orders-writer',
  readerAccount: 'orders-reader',
  /**
   * Above the federation delay (docs/data-routing.md "Lag"): a replica in
   * another region than the primary is judged against the primary's
   * published position, about SUMMARY_REFRESH_MS (1 s) + the lab's pull
   * interval (1 s) old; under the writers' steady writes the replay-time bound
   * is milliseconds anyway, so a replica over 3 s is truly behind.
   */
  maxLagMs: 3000,
  probeIntervalMs: 500,
  /**
   * A write and a read every this often, per region: each is a fresh
   * connection and a PostgreSQL backend, so this sets most of the store's
   * load (3 regions: 12 connections a second); the drills' bounds are seconds.
   */
  callEveryMs: 500,
} as const;

/** Host octets of a region's /24 the store takes (lab-topology.ts: controller .1, gateway .2, agents .11-12, apps .101-104, links .200+). */
const OCTET = { server: 50, rwListen: 51, roListen: 52, writer: 55, reader: 56 } as const;

export interface StoreMember {
  readonly region: string;
  /** Workload name and the server's cluster_name: what a call records as the server that answered. */
  readonly name: string;
  readonly node: string;
  readonly host: string;
  readonly role: 'primary' | 'replica';
}

export interface StoreClientPlan {
  readonly region: string;
  /** Supervisor name, also the route ids' prefix: `store-eu->orders-rw`. */
  readonly name: string;
  readonly node: string;
  readonly writer: string;
  readonly reader: string;
  readonly rwListen: string;
  readonly roListen: string;
  /** Stats port: the demo apps' API (GET /, /buckets, POST /start) plus /calls and POST /check. */
  readonly stats: { host: string; port: number };
}

export interface StorePlan {
  readonly members: readonly StoreMember[];
  readonly clients: readonly StoreClientPlan[];
}

/** A store client's route in the lab's report: from its region's writer or reader to a DataRoute name, wherever the mesh sends it. */
export interface StoreRoute {
  readonly id: string;
  readonly from: { region: string; service: string };
  readonly to: { region: string; service: string };
  readonly expect: 'allow';
  readonly note: string;
}

export function storeReportRoutes(plan: StorePlan): StoreRoute[] {
  return plan.clients.flatMap((c) => {
    const ids = storeRouteIds(c);
    return [
      { id: ids.write, from: { region: c.region, service: STORE.writerAccount }, to: { region: '*', service: STORE.readWrite }, expect: 'allow' as const, note: 'orders-pg-clients allows the store writers; writes go to the primary' },
      { id: ids.read, from: { region: c.region, service: STORE.readerAccount }, to: { region: '*', service: STORE.readOnly }, expect: 'allow' as const, note: 'orders-pg-clients allows the store readers; reads go to the nearest replica within maxLag' },
    ];
  });
}

export function storeRouteIds(client: Pick<StoreClientPlan, 'name'>): { write: string; read: string } {
  return { write: `${client.name}->${STORE.readWrite}`, read: `${client.name}->${STORE.readOnly}` };
}

/** Where everything of the store lives (pure). */
export function planStore(topo: LabTopology): StorePlan {
  const net = (index: number): string => `${topo.options.ipPrefix}.${index + 1}`;
  return {
    members: topo.regions.map((r) => ({
      region: r.name,
      name: `${STORE.service}-${r.name}`,
      // Node 2 holds the server, node 1 the clients: a local read still crosses two agents, as a real one would.
      node: r.agents[1]!.node,
      host: `${net(r.index)}.${OCTET.server}`,
      role: r.index === 0 ? 'primary' : 'replica',
    })),
    clients: topo.regions.map((r) => ({
      region: r.name,
      name: `store-${r.name}`,
      node: r.agents[0]!.node,
      writer: `${net(r.index)}.${OCTET.writer}`,
      reader: `${net(r.index)}.${OCTET.reader}`,
      rwListen: `${net(r.index)}.${OCTET.rwListen}:${STORE.port}`,
      roListen: `${net(r.index)}.${OCTET.roListen}:${STORE.port}`,
      stats: { host: `${net(r.index)}.${OCTET.writer}`, port: PORTS.appStats },
    })),
  };
}

const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NAMESPACE }, spec });

/**
 * The store's resources, added to the lab's: the Service, DataRoute and
 * policy in every region's shared file, each region's server and clients as
 * its Workloads, and the clients' outbound ports on their node's agent.
 * The writer and the reader are two identities: TCP stickiness sends a
 * caller that wrote within stickyAfterWrite to the primary, so one identity
 * doing both would never read from a replica.
 */
export function storeResources(topo: LabTopology, plan: StorePlan, probePasswordFile: string, attest: WireAttest): LabExtraResources {
  const principals = topo.regions.flatMap((r) => [STORE.writerAccount, STORE.readerAccount].map((sa) => `spiffe://${r.trustDomain}/ns/${NAMESPACE}/sa/${sa}`));
  const shared = [
    doc('Service', STORE.service, { ports: [{ port: STORE.port, targetPort: STORE.port, protocol: 'tcp' }], export: true }),
    // The clients only call: their Service's port is never dialled.
    doc('Service', 'orders-client', { ports: [{ port: 9, targetPort: 9, protocol: 'tcp' }] }),
    doc('DataRoute', STORE.route, {
      members: { service: STORE.service, port: STORE.port },
      protocol: 'postgresql',
      maxLag: `${STORE.maxLagMs}ms`,
      // A loaded machine (the lab's own processes, tests beside it) can make a probe, a fresh
      // connection with SCRAM, take over the default 1 s, and federation run late: a timeout of
      // 2 s and answers fresh for 6 s keep a slow moment from refusing writes the servers would take.
      probe: { user: STORE.probeUser, database: STORE.database, passwordFile: probePasswordFile, interval: `${STORE.probeIntervalMs}ms`, timeout: '2s' },
      tcp: { readWrite: STORE.readWrite, readOnly: STORE.readOnly, stickyAfterWrite: '2s' },
      staleAfter: '6s',
    }),
    doc('AuthorizationPolicy', 'orders-pg-clients', { selector: { services: [STORE.service] }, action: 'ALLOW', rules: [{ from: [{ principals }], to: [{ ports: [STORE.port] }] }] }),
  ].join('---\n');
  const regionYaml: Record<string, string> = {};
  for (const r of topo.regions) {
    const m = plan.members.find((x) => x.region === r.name)!;
    const c = plan.clients.find((x) => x.region === r.name)!;
    regionYaml[r.name] = [
      // The server is dialled, never attested: it holds no SVID of its own to call with.
      doc('Workload', m.name, { service: STORE.service, serviceAccount: STORE.service, node: m.node, address: m.host }),
      doc('Workload', `${c.name}-writer`, { service: 'orders-client', serviceAccount: STORE.writerAccount, node: c.node, address: c.writer, attest }),
      doc('Workload', `${c.name}-reader`, { service: 'orders-client', serviceAccount: STORE.readerAccount, node: c.node, address: c.reader, attest }),
    ].join('---\n');
  }
  const outboundPorts = Object.fromEntries(
    plan.clients.map((c) => [
      c.node,
      [
        { host: `${STORE.readWrite}.${NAMESPACE}.mesh`, port: STORE.port, listen: c.rwListen },
        { host: `${STORE.readOnly}.${NAMESPACE}.mesh`, port: STORE.port, listen: c.roListen },
      ],
    ]),
  );
  return { sharedYaml: shared, regionYaml, outboundPorts };
}

/** The lab's extra resources with the store's merged in (YAML appended, outbound ports per node concatenated). */
export function mergeExtra(a: LabExtraResources | undefined, b: LabExtraResources): LabExtraResources {
  const join2 = (x: string | undefined, y: string | undefined): string | undefined => (x?.trim() ? (y?.trim() ? `${x.trimEnd()}\n---\n${y}` : x) : y);
  const regions = new Set([...Object.keys(a?.regionYaml ?? {}), ...Object.keys(b.regionYaml ?? {})]);
  const nodes = new Set([...Object.keys(a?.outboundPorts ?? {}), ...Object.keys(b.outboundPorts ?? {})]);
  return {
    ...a,
    sharedYaml: join2(a?.sharedYaml, b.sharedYaml),
    regionYaml: Object.fromEntries([...regions].map((r) => [r, join2(a?.regionYaml?.[r], b.regionYaml?.[r]) ?? ''])),
    outboundPorts: Object.fromEntries([...nodes].map((n) => [n, [...(a?.outboundPorts?.[n] ?? []), ...(b.outboundPorts?.[n] ?? [])]])),
  };
}

export function storeClientConfig(client: StoreClientPlan, appPassword: string): StoreClientConfig {
  return {
    region: client.region,
    name: client.name,
    writer: { source: client.writer, listen: client.rwListen },
    reader: { source: client.reader, listen: client.roListen },
    stats: client.stats,
    user: STORE.appUser,
    password: appPassword,
    database: STORE.database,
    everyMs: STORE.callEveryMs,
    // A slow answer on a busy machine is not a routing failure: only one that never comes is.
    timeoutMs: 10_000,
    routes: storeRouteIds(client),
  };
}

/** A password of URL-safe characters only, so it can sit in SQL quotes and a one-line file as is. */
const password = (): string => randomBytes(18).toString('base64url');

/** The running servers, with the drills' hooks. */
export class LabStore {
  readonly probePasswordFile: string;
  readonly appPassword = password();
  private readonly probePassword = password();
  private cluster: PgCluster | undefined;
  /** Which member is primary now: a promotion moves it, killPrimary kills it. */
  private primaryName: string;

  constructor(
    readonly plan: StorePlan,
    private readonly workdir: string,
  ) {
    this.probePasswordFile = join(workdir, 'store-probe.pass');
    this.primaryName = plan.members.find((m) => m.role === 'primary')!.name;
  }

  /** Writes the probe's password file (0600): the controllers read it from their first probe on. */
  writePasswordFile(): void {
    writeFileSync(this.probePasswordFile, `${this.probePassword}\n`, { mode: 0o600 });
  }

  /** initdb, base backups, the roles and the table. A failure stops whatever started and says which step failed. */
  async start(): Promise<void> {
    // As root the servers run as `postgres`, which must be able to reach <workdir>/store:
    // the lab's directory is made traversable (not readable) by others; its files keep their modes.
    if (runningAsRoot()) chmodSync(this.workdir, 0o711);
    const [primary, ...replicas] = [...this.plan.members].sort((a, b) => (a.role === 'primary' ? -1 : b.role === 'primary' ? 1 : 0));
    try {
      this.cluster = await startPgCluster({
        dir: join(this.workdir, 'store'),
        primary: { name: primary!.name, host: primary!.host, port: STORE.port },
        replicas: replicas.map((m) => ({ name: m.name, host: m.host, port: STORE.port })),
        // Every call is a new connection, and a write from ap takes several WAN round trips:
        // up to 8 per kind and region in flight, plus the probes and the WAL senders, above the tests' 30.
        conf: 'max_connections = 100',
      });
    } catch (err) {
      throw new EntenteError('LAB_STORE', `the lab's replicated store did not start: ${(err as Error).message}`, { cause: err, hint: 'the message ends with the server log\'s last lines (the cluster directory is removed); or run the lab with --no-store' });
    }
    const c = this.cluster;
    try {
      // The probe needs only to log in (the functions it calls are open to any role); the app writes and reads one table.
      for (const q of [
        `CREATE ROLE ${STORE.probeUser} LOGIN PASSWORD '${this.probePassword}'`,
        `CREATE ROLE ${STORE.appUser} LOGIN PASSWORD '${this.appPassword}'`,
        'CREATE TABLE orders (id bigserial PRIMARY KEY, region text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
        `GRANT SELECT, INSERT ON orders TO ${STORE.appUser}`,
        `GRANT USAGE ON SEQUENCE orders_id_seq TO ${STORE.appUser}`,
      ]) {
        await c.sql(c.primary, q);
      }
    } catch (err) {
      await this.stop();
      throw new EntenteError('LAB_STORE', `the lab's replicated store started but could not be set up: ${(err as Error).message}`, { cause: err });
    }
  }

  private node(name: string): PgNode {
    const c = this.cluster;
    if (!c) throw new EntenteError('LAB_NO_STORE', 'the lab has no replicated store', { hint: 'run the lab without --no-store, with PostgreSQL installed' });
    return [c.primary, ...c.replicas].find((n) => n.name === name)!;
  }

  /** The replica of a region; refused for the primary's region or a region of no member. */
  private replicaOf(region: string): PgNode {
    const m = this.plan.members.find((x) => x.region === region);
    if (!m) throw new EntenteError('LAB_REGION', `no region ${region} in this lab`, { hint: `regions: ${this.plan.members.map((x) => x.region).join(', ')}` });
    if (m.name === this.primaryName) throw new EntenteError('LAB_STORE_STEP', `${region} holds the store's primary (${m.name}), not a replica`, { hint: `a replica's region: ${this.plan.members.filter((x) => x.name !== this.primaryName).map((x) => x.region).join(', ')}` });
    return this.node(m.name);
  }

  get primary(): string {
    return this.primaryName;
  }

  async pauseReplay(region: string): Promise<void> {
    const n = this.replicaOf(region);
    await this.cluster!.pauseReplay(n);
  }

  async resumeReplay(region: string): Promise<void> {
    await this.cluster!.resumeReplay(this.replicaOf(region));
  }

  /** SIGKILL of the primary's postmaster: no shutdown, as a crashed machine. */
  async killPrimary(): Promise<string> {
    const name = this.primaryName;
    await this.cluster!.kill(this.node(name));
    return name;
  }

  /** pg_promote() on a region's replica, waiting until it has left recovery; it is the primary from then on. */
  async promote(region: string): Promise<string> {
    const n = this.replicaOf(region);
    await this.cluster!.promote(n);
    this.primaryName = n.name;
    return n.name;
  }

  /**
   * Starts the store clients, then waits until every region's controller
   * names the primary and holds every replica within the bound, and until
   * each client has written and read once through the mesh (POST /check):
   * counting starts with calls that can work.
   */
  async startClients(ctx: { supervisor: Pick<ProcessSupervisor, 'start'>; workdir: string; adminUrls: readonly string[]; timeoutMs: number; say: (line: string) => void }): Promise<void> {
    const replicas = this.plan.members.filter((m) => m.role === 'replica');
    ctx.say(`replicated store up: primary ${this.primaryName}, replicas ${replicas.map((m) => m.name).join(', ')}`);
    for (const c of this.plan.clients) {
      const path = join(ctx.workdir, c.region, `${c.name}.json`);
      // It holds the app role's password.
      writeFileSync(path, JSON.stringify(storeClientConfig(c, this.appPassword), null, 1), { mode: 0o600 });
      ctx.supervisor.start(c.name, ['lab-store-client', '--config', path]);
    }
    await eventually(
      async () => {
        for (const url of ctx.adminUrls) {
          const st = await httpJson<{ data?: DataRouteView[] }>(`${url}/v1/status`, { timeoutMs: 5000 });
          const d = st.body.data?.find((x) => x.route === `${NAMESPACE}/${STORE.route}`);
          if (!d?.primary?.startsWith(`${NAMESPACE}/${this.primaryName}`) || d.members.filter((m) => m.role === 'replica' && m.withinBound).length < replicas.length) return false;
        }
        return true;
      },
      { timeoutMs: ctx.timeoutMs, what: `every region to see ${this.primaryName} as the store's primary and its replicas within the bound`, intervalMs: 250 },
    );
    await eventually(
      async () => {
        for (const c of this.plan.clients) if ((await httpJson(`http://${c.stats.host}:${c.stats.port}/check`, { method: 'POST', timeoutMs: 15_000 })).status !== 200) return false;
        return true;
      },
      { timeoutMs: ctx.timeoutMs, what: 'every store client to write and read once through the mesh', intervalMs: 250 },
    );
    ctx.say(`store clients up: a write and a read every ${STORE.callEveryMs} ms per region through ${STORE.readWrite}/${STORE.readOnly}.${NAMESPACE}.mesh`);
  }

  /** Every client's calls that started at or after `sinceMs`, by region. */
  async calls(sinceMs: number): Promise<Map<string, StoreCall[]>> {
    const out = new Map<string, StoreCall[]>();
    await Promise.all(
      this.plan.clients.map(async (c) => {
        const got = await httpJson<{ calls: StoreCall[] }>(`http://${c.stats.host}:${c.stats.port}/calls?since=${sinceMs}`, { timeoutMs: 10_000 });
        out.set(c.region, got.body.calls);
      }),
    );
    return out;
  }

  async stop(): Promise<void> {
    await this.cluster?.close();
  }

  killNow(): void {
    this.cluster?.killAllNow();
  }
}
