// `entente lab`: a whole multi-region mesh on this machine. Controllers,
// gateways, agents and demo apps run as separate processes on their own
// loopback addresses; the WAN between regions is emulated in this process.
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually } from '../core/eventually.js';
import { EntenteError } from '../core/errors.js';
import { httpJson } from '../core/http-get-json.js';
import { startWanLink, type WanLink } from './wan-link.js';
import { PORTS, buildTopology, type LabOptions, type LabTopology } from './lab-topology.js';
import { demoAppConfig, regionDir, writeAgentFile, writeControllerFiles, writeDemoAppFile, writeGatewayFile, writePrometheusFile } from './lab-files.js';
import { ProcessSupervisor, type Supervised } from './process-supervisor.js';
import { AGENT_NODE_FLAGS } from '../agent/agent-node-flags.js';
import { LatencySamples, type RouteCounters } from './latency-stats.js';
import type { WireAttest } from '../mesh/mesh-config.js';
import { labAttest, type LabExtraResources } from './lab-resources.js';
import type { RouteBucket } from './route-buckets.js';
import { LabStore, mergeExtra, planStore, storeReportRoutes, storeResources, storeRouteIds, type StorePlan, type StoreRoute } from './lab-store.js';
import { PG_PACKAGE, postgresBinDir } from './pg-binaries.js';
import type { StoreCall } from './store-client.js';

export interface LabRunOptions extends LabOptions {
  /** Keep generated configs and data here (default: a temporary directory, removed at the end). */
  readonly workdir?: string;
  /** Drive the demo routes (default true). */
  readonly traffic?: boolean;
  readonly readyTimeoutMs?: number;
  /** SVID lifetime in every region (default "1h"; at least "5m"). */
  readonly svidTtl?: string;
  /** Attest selectors every Workload declares (default labAttest(): the lab's uid and node executable). */
  readonly attest?: WireAttest;
  /** Resources beyond the demo app's (tests that run their own apps on the lab's nodes). */
  readonly extra?: LabExtraResources;
  /**
   * Run the replicated store (lab-store.ts): PostgreSQL, a DataRoute and store
   * clients. Default false here (tests that build a Lab bring their own apps);
   * `entente lab` sets it unless --no-store.
   */
  readonly store?: boolean;
  readonly onEvent?: (line: string) => void;
}



export interface RouteReport {
  id: string;
  from: { region: string; service: string };
  to: { region: string; service: string };
  expect: 'allow' | 'deny';
  note: string;
  requests: number;
  ok: number;
  denied: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
  lastError?: string;
}

export interface LabReport {
  regions: { name: string; trustDomain: string }[];
  /** False under --no-traffic: routes are idle by request and not judged. */
  traffic: boolean;
  rttMs: Record<string, number>;
  durationS: number;
  workdir: string;
  routes: RouteReport[];
  expectationsMet: boolean;
  unexpectedExits: string[];
}

interface AppStats {
  routes: { id: string; requests: number; ok: number; denied: number; failed: number; lastError?: string; samples: number[] }[];
}

/** The share of an allowed route's requests that must succeed for the run to pass (the table flags the same routes). */
export const ALLOW_OK_THRESHOLD = 0.99;

/** Whether a route met its expectation: allowed routes at least ALLOW_OK_THRESHOLD ok, denied routes denied every time. */
export function routeMet(r: Pick<RouteReport, 'expect' | 'requests' | 'ok' | 'denied'>): boolean {
  if (r.requests === 0) return false;
  return r.expect === 'allow' ? r.ok / r.requests >= ALLOW_OK_THRESHOLD : r.ok === 0 && r.denied === r.requests;
}

/** At most one "waiting for" line this often while the mesh converges. */
export const PROGRESS_EVERY_MS = 5000;

/** The part of a controller's /v1/status the lab waits on. */
export interface RegionStatusView {
  nodes: { node?: string; connected: boolean }[];
  peers: { region?: string; reachable: boolean; stale: boolean; exportedServices: string[] }[];
}

export interface RegionWaiting {
  region: string;
  /** What the region still waits for, e.g. "nodes 2/3", "peers us,ap"; empty when ready. */
  waiting: string[];
}

/** What a region still waits for before it counts as converged: its nodes connected, fresh state from every peer. */
export function regionWaiting(status: RegionStatusView | undefined, expectedNodes: number): string[] {
  if (!status) return ['controller status'];
  const out: string[] = [];
  const connected = status.nodes.filter((n) => n.connected).length;
  const want = Math.max(expectedNodes, status.nodes.length);
  if (connected < want) out.push(`nodes ${connected}/${want}`);
  const peers = status.peers.filter((p) => !(p.reachable && !p.stale && p.exportedServices.length > 0));
  if (peers.length > 0) out.push(`peers ${peers.map((p) => p.region ?? '?').join(',')}`);
  return out;
}

/** What a region still waits for before its workloads all hold SVIDs (undefined: an agent that did not answer). */
export function svidWaiting(agents: readonly ({ svidNotAfter?: string }[] | undefined)[]): string[] {
  const silent = agents.filter((a) => a === undefined).length;
  const workloads = agents.flatMap((a) => a ?? []);
  const issued = workloads.filter((w) => w.svidNotAfter).length;
  const out: string[] = [];
  if (silent > 0) out.push(`agents ${agents.length - silent}/${agents.length} answering`);
  if (issued < workloads.length) out.push(`SVIDs ${issued}/${workloads.length}`);
  return out;
}

/** One progress line, e.g. "waiting for eu: nodes 2/3, peers us; us: SVIDs 1/2" (ready regions left out). */
export function renderWaiting(waits: readonly RegionWaiting[]): string {
  return `waiting for ${waits.filter((w) => w.waiting.length > 0).map((w) => `${w.region}: ${w.waiting.join(', ')}`).join('; ')}`;
}

export class Lab {
  readonly topology: LabTopology;
  readonly workdir: string;
  readonly supervisor: ProcessSupervisor;
  readonly links = new Map<string, WanLink>();
  private readonly ownsWorkdir: boolean;
  private readonly counters = new Map<string, RouteCounters & { lastError?: string }>();
  private readonly latencies = new Map<string, LatencySamples>();
  private readonly unexpectedExits: string[] = [];
  /** Route id -> app run ("workload@startedAt") -> epoch second -> bucket. */
  private readonly buckets = new Map<string, Map<string, Map<number, RouteBucket>>>();
  private bucketsSince = 0;
  /** Each link's one-way latency as started (restore() goes back to it). */
  private readonly baseLatencyMs = new Map<string, number>();
  private startedAt = 0;
  private stopped = false;
  /** The store's plan when asked for, and its servers once PostgreSQL was found. */
  readonly storePlan: StorePlan | undefined;
  private store: LabStore | undefined;
  private storeStarting: Promise<void> | undefined;
  /** Why a lab asked to run the store runs without it (PostgreSQL not installed). */
  private storeMissing: string | undefined;
  private readonly storeRoutes: StoreRoute[] = [];
  private storeFailure: unknown;

  constructor(private readonly opts: LabRunOptions) {
    this.topology = buildTopology(opts);
    this.ownsWorkdir = !opts.workdir;
    this.workdir = resolve(opts.workdir ?? mkdtempSync(join(tmpdir(), 'entente-lab-')));
    mkdirSync(this.workdir, { recursive: true });
    this.supervisor = new ProcessSupervisor(join(this.workdir, 'logs'), (p: Supervised) => {
      const line = `${p.name} exited unexpectedly (${p.exited?.signal ?? `code ${p.exited?.code}`}); see ${p.logPath}`;
      this.unexpectedExits.push(line);
      this.opts.onEvent?.(line);
    });
    if (opts.store) {
      this.storePlan = planStore(this.topology);
      this.storeRoutes.push(...storeReportRoutes(this.storePlan));
    }
    for (const r of [...this.topology.routes, ...this.storeRoutes]) {
      this.counters.set(r.id, { requests: 0, ok: 0, denied: 0, failed: 0 });
      this.latencies.set(r.id, new LatencySamples());
    }
  }

  private storeFailed(): boolean {
    return this.storeFailure !== undefined;
  }

  private throwStoreFailure(): void {
    if (this.storeFailure !== undefined) throw this.storeFailure;
  }

  /** Why store steps cannot run here (no store asked for, or PostgreSQL missing); undefined when the store runs. */
  get storeProblem(): string | undefined {
    if (!this.storePlan) return 'the lab runs without its replicated store (--no-store)';
    return this.storeMissing;
  }

  /** Every stats endpoint the lab reads counters from: the demo apps', then the store clients'. */
  private statsUrls(): { name: string; url: string }[] {
    return [
      ...this.topology.workloads.map((w) => ({ name: w.name, url: `http://${w.address}:${PORTS.appStats}` })),
      ...(this.store ? (this.storePlan?.clients ?? []).map((c) => ({ name: c.name, url: `http://${c.stats.host}:${c.stats.port}` })) : []),
    ];
  }

  private say(line: string): void {
    this.opts.onEvent?.(line);
  }

  adminUrl(region: string): string {
    const r = this.topology.regions.find((x) => x.name === region)!;
    return `http://${r.controllerIp}:${PORTS.controllerAdmin}`;
  }

  async start(): Promise<void> {
    const topo = this.topology;
    const timeout = this.opts.readyTimeoutMs ?? 60_000;
    let extra = this.opts.extra;
    if (this.storePlan) {
      if (!postgresBinDir()) {
        this.storeMissing = `PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install the Debian package "${PG_PACKAGE}")`;
        this.say(`no replicated store: ${this.storeMissing}`);
      } else {
        this.store = new LabStore(this.storePlan, this.workdir);
        this.store.writePasswordFile();
        extra = mergeExtra(extra, storeResources(topo, this.storePlan, this.store.probePasswordFile, this.opts.attest ?? labAttest()));
        // initdb and the base backups run while the mesh starts; the store clients wait for both.
        this.storeStarting = this.store.start();
        // A failure ends the mesh's waits below at their next poll (storeFailed), not at their timeouts.
        this.storeStarting.catch((err: unknown) => (this.storeFailure = err));
      }
    }
    const controllerConfigs = writeControllerFiles(this.workdir, topo, this.opts.svidTtl, this.opts.attest, extra);
    writePrometheusFile(this.workdir, topo);

    // The WAN: one emulated link per direction for federation and for data.
    for (const a of topo.regions) {
      for (const b of topo.regions) {
        if (a === b) continue;
        const oneWay = topo.rtt(a.name, b.name) / 2;
        for (const [port, targetIp] of [
          [PORTS.controllerPeers, b.controllerIp],
          [PORTS.gateway, b.gatewayIp],
        ] as const) {
          const link = await startWanLink({ listen: { host: a.linkIp(b), port }, target: { host: targetIp, port }, latencyMs: oneWay, jitterMs: this.opts.jitterMs });
          this.links.set(`${a.name}->${b.name}:${port}`, link);
          this.baseLatencyMs.set(`${a.name}->${b.name}:${port}`, oneWay);
        }
      }
    }
    this.say(`WAN emulator: ${this.links.size} links (${Object.entries(topo.options.rttMs).map(([k, v]) => `${k} ${v} ms RTT`).join(', ')})`);

    for (const r of topo.regions) this.supervisor.start(`${r.name}-controller`, ['controller', '--config', controllerConfigs.get(r.name)!]);
    await Promise.all(
      topo.regions.map((r) => eventually(async () => this.storeFailed() || (await httpJson(`${this.adminUrl(r.name)}/v1/status`)).status === 200, { timeoutMs: timeout, what: `controller ${r.name}` })),
    );
    this.throwStoreFailure();
    this.say(`controllers up: ${topo.regions.map((r) => r.name).join(', ')}`);

    for (const r of topo.regions) {
      const credential = readFileSync(join(regionDir(this.workdir, r), 'controller-data', 'admin.token'), 'utf8').trim();
      // A busy machine makes the controller slow to answer: retry (a timed-out or
      // refused request, a 5xx) with backoff within the ready timeout; a 4xx is final.
      const token = async (node: string, kind: 'agent' | 'gateway'): Promise<string> => {
        let delayMs = 100;
        const got = await eventually(
          async () => {
            let res: { status: number; body: { token: string } };
            try {
              res = await httpJson<{ token: string }>(`${this.adminUrl(r.name)}/v1/tokens`, { method: 'POST', body: { node, kind }, headers: { authorization: `Bearer ${credential}` }, timeoutMs: 15_000 });
            } catch (err) {
              await new Promise((done) => setTimeout(done, delayMs));
              delayMs = Math.min(delayMs * 2, 2000);
              throw err;
            }
            if (res.status === 200) return res.body.token;
            if (res.status >= 400 && res.status < 500) return new Error(`controller ${r.name} refused a token for ${node} (HTTP ${res.status})`);
            await new Promise((done) => setTimeout(done, delayMs));
            delayMs = Math.min(delayMs * 2, 2000);
            throw new Error(`controller ${r.name} answered HTTP ${res.status} to a token request for ${node}`);
          },
          { timeoutMs: timeout, what: `a join token for ${node} from controller ${r.name}` },
        );
        if (got instanceof Error) throw got;
        return got;
      };
      this.supervisor.start(`${r.name}-gateway`, ['gateway', '--config', writeGatewayFile(this.workdir, r, await token(`${r.name}-gateway`, 'gateway'))]);
      for (const a of r.agents) this.supervisor.start(`${a.node}-agent`, ['agent', '--config', writeAgentFile(this.workdir, r, a, await token(a.node, 'agent'), extra?.outboundPorts?.[a.node], extra?.agentTelemetry)], AGENT_NODE_FLAGS);
    }

    // Ready when every region sees its nodes connected and fresh state from every peer,
    // then when every workload holds an SVID. Meanwhile, what each region still waits
    // for, at most one line every PROGRESS_EVERY_MS (nothing if it converges sooner).
    let lastProgress = Date.now();
    const progress = (waits: RegionWaiting[]): void => {
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      this.say(renderWaiting(waits));
    };
    await eventually(
      async () => {
        if (this.storeFailed()) return true;
        const waits = await Promise.all(
          topo.regions.map(async (r): Promise<RegionWaiting> => {
            const st = await httpJson<RegionStatusView>(`${this.adminUrl(r.name)}/v1/status`, { timeoutMs: 5000 }).then((x) => x.body, () => undefined);
            return { region: r.name, waiting: regionWaiting(st, r.agents.length + 1) };
          }),
        );
        if (waits.every((w) => w.waiting.length === 0)) return true;
        progress(waits);
        return false;
      },
      { timeoutMs: timeout, what: 'every region to see its nodes and its peers', intervalMs: 200 },
    );
    this.throwStoreFailure();
    await eventually(
      async () => {
        if (this.storeFailed()) return true;
        const waits = await Promise.all(
          topo.regions.map(async (r): Promise<RegionWaiting> => {
            const agents = await Promise.all(
              r.agents.map((a) => httpJson<{ workloads: { svidNotAfter?: string }[] }>(`http://${a.ip}:${PORTS.agentMetrics}/status`, { timeoutMs: 5000 }).then((x) => x.body.workloads, () => undefined)),
            );
            return { region: r.name, waiting: svidWaiting(agents) };
          }),
        );
        if (waits.every((w) => w.waiting.length === 0)) return true;
        progress(waits);
        return false;
      },
      { timeoutMs: timeout, what: 'every workload SVID', intervalMs: 200 },
    );
    this.throwStoreFailure();
    this.say('mesh converged: nodes connected, peers federated, SVIDs issued');

    for (const w of topo.workloads) {
      this.supervisor.start(`app-${w.name}`, ['demo-app', '--config', writeDemoAppFile(this.workdir, demoAppConfig(topo, w, this.opts.traffic ?? true))]);
    }
    await eventually(
      async () => {
        for (const w of topo.workloads) if ((await httpJson(`http://${w.address}:${PORTS.appStats}/`)).status !== 200) return false;
        return true;
      },
      { timeoutMs: timeout, what: 'demo apps' },
    );
    if (this.store) await this.startStoreClients(timeout);
    await Promise.all(this.statsUrls().map((s) => httpJson(`${s.url}/start`, { method: 'POST' })));
    this.startedAt = Date.now();
    this.say(this.opts.traffic === false ? 'demo apps up, no demo traffic (--no-traffic)' : `demo traffic on ${topo.routes.length} routes at ${topo.options.rate} req/s each`);
  }

  /** Once the servers run: the store clients, and the waits for the mesh to route to the store (LabStore.startClients). */
  private async startStoreClients(timeoutMs: number): Promise<void> {
    await this.storeStarting;
    await this.store!.startClients({
      supervisor: this.supervisor,
      workdir: this.workdir,
      adminUrls: this.topology.regions.map((r) => this.adminUrl(r.name)),
      timeoutMs,
      say: (line) => this.say(line),
    });
  }

  /** Every store client's calls that started at or after `sinceMs`, by region (none without the store). */
  async storeCalls(sinceMs = 0): Promise<Map<string, StoreCall[]>> {
    return this.store ? this.store.calls(sinceMs) : new Map();
  }

  // --- Store hooks (drills). Refused when the store does not run.

  private requireStore(): LabStore {
    if (!this.store) throw new EntenteError('LAB_NO_STORE', `this step needs the lab's replicated store: ${this.storeProblem ?? 'it did not start'}`, { hint: `install the Debian package "${PG_PACKAGE}" and run the lab without --no-store` });
    return this.store;
  }

  async pauseReplay(region: string): Promise<void> {
    await this.requireStore().pauseReplay(region);
    this.say(`fault: replay paused on ${region}'s replica`);
  }

  async resumeReplay(region: string): Promise<void> {
    await this.requireStore().resumeReplay(region);
    this.say(`fault: replay resumed on ${region}'s replica`);
  }

  /** The name of the server killed. */
  async killPrimary(): Promise<string> {
    const name = await this.requireStore().killPrimary();
    this.say(`fault: killed the store's primary ${name} (SIGKILL of its postmaster)`);
    return name;
  }

  async promote(region: string): Promise<void> {
    const name = await this.requireStore().promote(region);
    this.say(`fault: promoted ${name} (pg_promote())`);
  }

  /** Checks a store step's region before the drill starts (a typo or the primary's region fails now). */
  assertStoreStep(step: { region: string } | Record<string, never>, kind: string): void {
    this.requireStore();
    if ('region' in step) {
      this.regionComponents(step.region);
      const m = this.storePlan!.members.find((x) => x.region === step.region)!;
      if (m.role === 'primary') throw new EntenteError('LAB_STORE_STEP', `${kind}: ${step.region} holds the store's primary (${m.name}), not a replica`, { hint: `a replica's region: ${this.storePlan!.members.filter((x) => x.role === 'replica').map((x) => x.region).join(', ')}` });
    }
  }

  /** Pulls every app's counters and new latency samples. */
  async collect(): Promise<void> {
    await Promise.all(
      this.statsUrls().map(async (w) => {
        try {
          const st = (await httpJson<AppStats>(`${w.url}/`, { timeoutMs: 5000 })).body;
          for (const r of st.routes) {
            const c = this.counters.get(r.id);
            if (!c) continue;
            Object.assign(c, { requests: r.requests, ok: r.ok, denied: r.denied, failed: r.failed });
            if (r.lastError) c.lastError = r.lastError;
            this.latencies.get(r.id)!.add(r.samples);
          }
        } catch {
          /* an app that does not answer is visible through its route's counters standing still */
        }
      }),
    );
  }

  /** Pulls every app's per-second buckets of the last few seconds (a bucket read again replaces the copy held). */
  async collectBuckets(): Promise<void> {
    const since = this.bucketsSince;
    this.bucketsSince = Math.floor(Date.now() / 1000) - 3;
    await Promise.all(
      this.statsUrls().map(async (w) => {
        try {
          const got = (await httpJson<{ startedAt: number; routes: { id: string; buckets: RouteBucket[] }[] }>(`${w.url}/buckets?since=${since}`, { timeoutMs: 5000 })).body;
          for (const r of got.routes) {
            const runs = this.buckets.get(r.id) ?? new Map<string, Map<number, RouteBucket>>();
            this.buckets.set(r.id, runs);
            const run = runs.get(`${w.name}@${got.startedAt}`) ?? new Map<number, RouteBucket>();
            runs.set(`${w.name}@${got.startedAt}`, run);
            for (const b of r.buckets) run.set(b.second, b);
          }
        } catch {
          /* a killed app: its last unread seconds are lost, which the report shows as a gap */
        }
      }),
    );
  }

  /** Every route's buckets, runs of a restarted app summed, oldest second first. */
  routeBuckets(): Map<string, RouteBucket[]> {
    const out = new Map<string, RouteBucket[]>();
    for (const [id, runs] of this.buckets) {
      const sum = new Map<number, RouteBucket>();
      for (const run of runs.values()) {
        for (const b of run.values()) {
          const s = sum.get(b.second) ?? { second: b.second, requests: 0, ok: 0, denied: 0, failed: 0, samples: [] };
          s.requests += b.requests;
          s.ok += b.ok;
          s.denied += b.denied;
          s.failed += b.failed;
          s.samples = s.samples.concat(b.samples);
          sum.set(b.second, s);
        }
      }
      out.set(id, [...sum.values()].sort((a, b) => a.second - b.second));
    }
    return out;
  }

  // --- Fault hooks (drills). Components are named as the supervisor names them:
  // "eu-controller", "eu-gateway", "eu-node-1-agent", "app-frontend-1".

  /** One-way: connections `from` opens toward `to` (federation and data) hang; `to`'s own connections to `from` keep working. */
  cut(from: string, to: string): void {
    for (const l of this.linksBetween(from, to)) l.setPartitioned('blackhole');
    this.say(`fault: cut ${from} -> ${to}`);
  }

  heal(from: string, to: string): void {
    for (const l of this.linksBetween(from, to)) l.setPartitioned(false);
    this.say(`fault: healed ${from} -> ${to}`);
  }

  private linksBetween(from: string, to: string): WanLink[] {
    const out = [PORTS.controllerPeers, PORTS.gateway].map((port) => this.links.get(`${from}->${to}:${port}`));
    if (out.some((l) => !l)) throw new EntenteError('LAB_LINK', `no WAN link ${from} -> ${to}`, { hint: `regions: ${this.topology.regions.map((r) => r.name).join(', ')}` });
    return out as WanLink[];
  }

  /**
   * Every process of a region, in start order: controller, gateway, agents,
   * demo apps, its store client. Not the store's PostgreSQL server: it is the
   * database's machine, and the store steps act on it.
   */
  regionComponents(region: string): string[] {
    const r = this.topology.regions.find((x) => x.name === region);
    if (!r) throw new EntenteError('LAB_REGION', `no region ${region} in this lab`, { hint: `regions: ${this.topology.regions.map((x) => x.name).join(', ')}` });
    const storeClient = this.store ? this.storePlan!.clients.filter((c) => c.region === region).map((c) => c.name) : [];
    return [`${r.name}-controller`, `${r.name}-gateway`, ...r.agents.map((a) => `${a.node}-agent`), ...this.topology.workloads.filter((w) => w.region === region).map((w) => `app-${w.name}`), ...storeClient];
  }

  /** The store clients' routes and the components each needs running (empty without the store): for the live view's unservable routes. */
  storeCallers(): { id: string; needs: string[] }[] {
    if (!this.store) return [];
    return this.storePlan!.clients.flatMap((c) => Object.values(storeRouteIds(c)).map((id) => ({ id, needs: [c.name, `${c.node}-agent`] })));
  }

  async killRegion(region: string): Promise<void> {
    await this.supervisor.kill(this.regionComponents(region));
    this.say(`fault: killed every process of ${region}`);
  }

  async restartRegion(region: string): Promise<void> {
    for (const name of this.regionComponents(region)) await this.restartComponent(name, { quiet: true });
    this.say(`fault: restarted every process of ${region}`);
  }

  async killComponent(name: string): Promise<void> {
    this.component(name);
    await this.supervisor.kill([name]);
    this.say(`fault: killed ${name}`);
  }

  /** Starts a killed component again with its first command line; a demo app or a store client is told to drive its traffic again once it listens. */
  async restartComponent(name: string, opts: { quiet?: boolean } = {}): Promise<void> {
    this.component(name);
    this.supervisor.restart(name);
    const w = this.statsUrls().find((x) => `app-${x.name}` === name || x.name === name);
    if (w) {
      const stats = w.url;
      await eventually(async () => (await httpJson(`${stats}/`, { timeoutMs: 2000 })).status === 200, { timeoutMs: 30_000, what: `${name} to listen again` });
      if (this.opts.traffic !== false) await httpJson(`${stats}/start`, { method: 'POST' });
    }
    if (!opts.quiet) this.say(`fault: restarted ${name}`);
  }

  /** Epoch ms when the demo apps were told to start their traffic. */
  get trafficStartedAt(): number {
    return this.startedAt;
  }

  /** Asks a region's controller to read its resource directory again now (a drill that edits a policy file). */
  async reloadResources(region: string): Promise<void> {
    const r = this.topology.regions.find((x) => x.name === region)!;
    const credential = readFileSync(join(regionDir(this.workdir, r), 'controller-data', 'admin.token'), 'utf8').trim();
    await httpJson(`${this.adminUrl(region)}/v1/resources/reload`, { method: 'POST', headers: { authorization: `Bearer ${credential}` }, timeoutMs: 5000 }).catch(() => undefined);
  }

  assertComponent(name: string): void {
    this.component(name);
  }

  private component(name: string): void {
    if (!this.supervisor.latest(name)) throw new EntenteError('LAB_COMPONENT', `no component ${name} in this lab`, { hint: 'e.g. eu-controller, ap-gateway, us-node-1-agent, app-frontend-1' });
  }

  /** Every link: `latencyMs` more round-trip time (half each way) on top of its own, and `loss` (0..1) of chunks lost. */
  degrade(d: { latencyMs?: number; loss?: number }): void {
    for (const [key, l] of this.links) {
      if (d.latencyMs !== undefined) l.setLatency(this.baseLatencyMs.get(key)! + d.latencyMs / 2, this.opts.jitterMs);
      if (d.loss !== undefined) l.setLoss(d.loss);
    }
    this.say(`fault: degraded every link (${d.latencyMs !== undefined ? `+${d.latencyMs} ms RTT` : ''}${d.loss !== undefined ? ` ${d.loss * 100}% loss` : ''})`);
  }

  restore(): void {
    for (const [key, l] of this.links) {
      l.setLatency(this.baseLatencyMs.get(key)!, this.opts.jitterMs);
      l.setLoss(0);
    }
    this.say('fault: every link restored');
  }

  /** The components that run now, by name. */
  alive(): Set<string> {
    return new Set(this.supervisor.running().map((p) => p.name));
  }

  report(): LabReport {
    const routes: RouteReport[] = [...this.topology.routes, ...(this.store ? this.storeRoutes : [])].map((r) => {
      const c = this.counters.get(r.id)!;
      const l = this.latencies.get(r.id)!;
      const round = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 10) / 10);
      return {
        id: r.id,
        from: r.from,
        to: r.to,
        expect: r.expect,
        note: r.note,
        requests: c.requests,
        ok: c.ok,
        denied: c.denied,
        failed: c.failed,
        p50Ms: round(l.p(50)),
        p99Ms: round(l.p(99)),
        ...(c.lastError ? { lastError: c.lastError } : {}),
      };
    });
    // Without demo traffic there is nothing to judge but the processes: every route is idle by request.
    const met = this.opts.traffic === false || routes.every(routeMet);
    return {
      regions: this.topology.regions.map((r) => ({ name: r.name, trustDomain: r.trustDomain })),
      rttMs: { ...this.topology.options.rttMs },
      durationS: this.startedAt ? Math.round((Date.now() - this.startedAt) / 100) / 10 : 0,
      workdir: this.workdir,
      routes,
      traffic: this.opts.traffic !== false,
      expectationsMet: met && this.unexpectedExits.length === 0,
      unexpectedExits: [...this.unexpectedExits],
    };
  }

  /**
   * Stops demo traffic first (so the last counts are final), then the nodes, then the controllers and links.
   * A temporary work directory is removed unless keepWorkdir (a failed start keeps its logs).
   */
  async stop(opts: { keepWorkdir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const apps = [...this.topology.workloads.map((w) => `app-${w.name}`), ...(this.storePlan?.clients ?? []).map((c) => c.name)];
    await this.collect().catch(() => undefined);
    await this.supervisor.stop(apps);
    // Nodes before controllers: a node whose controller went first would log a lost config stream at warn on every stop.
    const nodes = this.topology.regions.flatMap((r) => [`${r.name}-gateway`, ...r.agents.map((x) => `${x.node}-agent`)]);
    await this.supervisor.stop(nodes);
    await this.supervisor.stop();
    await Promise.all([...this.links.values()].map((l) => l.close()));
    // A store still starting (a lab start that failed early) is waited for, so that close() finds every server.
    await this.storeStarting?.catch(() => undefined);
    await this.store?.stop();
    if (this.ownsWorkdir && !opts.keepWorkdir) rmSync(this.workdir, { recursive: true, force: true });
  }

  /** Synchronous emergency cleanup for process exit handlers. */
  killNow(): void {
    this.supervisor.killAllNow();
    this.store?.killNow();
  }
}
