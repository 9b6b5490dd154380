// The region's data-service probes (docs/data-routing.md): for every
// DataRoute, the controller probes each member Workload of its own region
// every `probe.interval`, judges each replica against the lag bound (with
// hysteresis), and publishes what it found in the region state. Members in
// other regions come from their regions' signed states, each region speaking
// only for its own exported Workloads. From both, it decides where reads and
// writes from this region go (route-decision.ts): shown in /v1/status
// (`data`), `entente status` and the metrics, and pushed to the agents.
import { Gauge, Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { parseDuration } from '../core/duration.js';
import type { ResourceSet } from '../policy/resource-set.js';
import type { DataRoute } from '../policy/resources.js';
import { httpSettings } from '../policy/data-route-schema.js';
import { probePostgres, type PgProbeResult, type PgProbeTarget } from '../data/pg-probe.js';
import { probeHttpMember, type HttpProbeResult, type HttpProbeTarget } from '../data/http-probe.js';
import { formatLsn, lsnFromBytes } from '../data/lsn.js';
import { currentPrimary, decide, type Member, type MemberProbe } from '../data/route-decision.js';
import { BoundJudge, replicaStaleness, type PrimaryReference } from '../data/replica-staleness.js';
import type { DataMemberSummary, ExportedService, WireDataMember, WireDataRoute } from '../mesh/mesh-config.js';

export interface DataMemberView {
  /** "namespace/workload" for this region's members, "namespace/workload@region" for another region's. */
  readonly member: string;
  readonly region: string;
  /** host:port probed (this region's members only). */
  readonly address?: string;
  readonly role: 'primary' | 'replica' | 'unreachable' | 'unknown';
  /** When the last probe answered, ISO time. */
  readonly probedAt?: string;
  readonly position?: string;
  readonly lagBytes?: number;
  /** Upper bound of how far behind it is; null: unknown (nothing bounds it). */
  readonly lagSeconds?: number | null;
  readonly withinBound: boolean;
  readonly paused?: boolean;
  readonly error?: { code: string; message: string };
}

export interface DataRouteView {
  readonly route: string;
  readonly maxLagMs: number;
  readonly members: readonly DataMemberView[];
  readonly primary?: string;
  /** From this region: the members reads and writes would try, in order, and why. */
  readonly reads: { order: readonly string[]; why: string };
  readonly writes: { order: readonly string[]; why: string };
}

/** A member's probe, whatever the protocol: positions as integers, times as epoch ms. */
export type MemberProbeResult =
  | { readonly role: 'primary'; readonly position: bigint; readonly timeline?: number }
  | {
      readonly role: 'replica';
      /** Position replayed (what reads see). */
      readonly position: bigint;
      readonly received?: bigint | null;
      /** Commit time of the last transaction replayed (the primary's clock); null: none since it started. */
      readonly replayedCommitAt?: number | null;
      /** Lag as the member reports it (HTTP data services). */
      readonly reportedLagSeconds?: number;
      readonly paused?: boolean;
    }
  | { readonly role: 'unreachable'; readonly error: { readonly code: string; readonly message: string } };

/** Another region's members, from its signed state (controller.ts gathers them). */
export interface RemoteDataSource {
  readonly region: string;
  /** State version: what was checked of it is remembered per version. */
  readonly version: number;
  /** Measured from this region; undefined: unknown. */
  readonly rttMs?: number;
  readonly members: readonly DataMemberSummary[];
  readonly exportedServices: readonly ExportedService[];
}

interface Target {
  readonly workload: string;
  readonly member: string;
  readonly address: string;
  readonly probe: { readonly kind: 'postgresql'; readonly pg: PgProbeTarget } | { readonly kind: 'http'; readonly http: HttpProbeTarget };
}

interface LocalEntry {
  result: MemberProbeResult;
  at: number;
  lastOk?: { result: Exclude<MemberProbeResult, { role: 'unreachable' }>; at: number };
  readonly judge: BoundJudge;
  within: boolean;
  seconds?: number;
  behind?: number;
}

interface RouteProbe {
  readonly id: string;
  readonly route: DataRoute;
  readonly targets: readonly Target[];
  readonly entries: Map<string, LocalEntry>;
  timer?: NodeJS.Timeout;
  running: boolean;
}

export type Prober = (target: PgProbeTarget, opts: { timeoutMs: number }) => Promise<PgProbeResult>;
export type HttpProber = (target: HttpProbeTarget, opts: { timeoutMs: number }) => Promise<HttpProbeResult>;

/** The region state's data part is refreshed at most this often, unless a role or a judgement changes (then at once). */
export const SUMMARY_REFRESH_MS = 1000;

/**
 * HTTP data services: the members' positions in the agents' config (what a
 * consistency token is compared with) are pushed at most this often while they
 * move; a decision change is pushed at once.
 */
export const POSITION_REFRESH_MS = 1000;

export function fromPgProbe(r: PgProbeResult): MemberProbeResult {
  if (r.role === 'primary') return { role: 'primary', position: r.lsn, ...(r.timeline !== undefined ? { timeline: r.timeline } : {}) };
  if (r.role === 'unreachable') return { role: 'unreachable', error: { code: r.error.code, message: r.error.message } };
  return { role: 'replica', position: r.replayLsn, received: r.receiveLsn, replayedCommitAt: r.replayTimestamp ? r.replayTimestamp.getTime() : null, paused: r.paused };
}

export function fromHttpProbe(r: HttpProbeResult): MemberProbeResult {
  if (r.role === 'unreachable') return { role: 'unreachable', error: { code: r.error.code, message: r.error.message } };
  if (r.role === 'primary') return { role: 'primary', position: r.position };
  return { role: 'replica', position: r.position, ...(r.lagSeconds !== undefined ? { reportedLagSeconds: r.lagSeconds } : {}) };
}

/** A position as people read it: an LSN for PostgreSQL, the service's own number for HTTP. */
function showPosition(route: DataRoute, p: bigint): string {
  return route.spec.protocol === 'postgresql' ? formatLsn(lsnFromBytes(p)) : p.toString();
}

const hex = (p: bigint): string => p.toString(16);
const withoutPosition = ({ position: _moves, ...m }: WireDataMember): WireDataMember => m;
const nameOf = (ns: string, workload: string, region: string | undefined): string => (region === undefined ? `${ns}/${workload}` : `${ns}/${workload}@${region}`);

/** A decision member that remembers which Workload it is (the agents route to it by name and region). */
type RoutedMember = Member & { readonly workload: string };

/** Another region's replica may serve reads: its region judged it within the bound, and its lag is within ours too. */
function remoteWithinBound(s: DataMemberSummary, maxLagS: number): boolean {
  return s.withinBound === true && s.lagSeconds !== undefined && s.lagSeconds <= maxLagS;
}

export class DataProbes {
  private routes: RouteProbe[] = [];
  private readonly probes: Counter<'route' | 'result'>;
  private readonly refused: Counter<'region' | 'reason'>;
  private stopped = false;
  private lastDecision = '';
  private lastPositions = '';
  private positionsAt = 0;
  private summary: DataMemberSummary[] = [];
  private summaryKey = '';
  private summaryAt = 0;
  /** Remote entries checked, per region and state version: refusals are counted and logged once per version. */
  private readonly checked = new Map<string, { version: number; members: DataMemberSummary[] }>();

  constructor(
    private readonly o: {
      /** This region: shown on its own members, and the region of the agents' local routes. */
      readonly region: string;
      readonly log: Logger;
      readonly registry: Registry;
      readonly probe?: Prober;
      readonly httpProbe?: HttpProber;
      readonly now?: () => number;
      /** Other regions' members (their signed states); none when absent. */
      readonly remote?: () => readonly RemoteDataSource[];
      /** Added to staleAfter for another region's member: the delay federation adds (pull interval + SUMMARY_REFRESH_MS). */
      readonly remoteGraceMs?: number;
      /** Called when where reads or writes go changed, or the published summary did (the controller recomputes). */
      readonly onDecisionChange?: () => void;
    },
  ) {
    this.probes = new Counter({ name: 'entente_data_probes_total', help: 'Probes of data-service members, by DataRoute and result (a role, or an error code)', labelNames: ['route', 'result'], registers: [o.registry] });
    this.refused = new Counter({ name: 'entente_data_remote_refused_total', help: "Data members in another region's state refused (not that region's exported Workload of the DataRoute's Service), by region", labelNames: ['region', 'reason'], registers: [o.registry] });
    const views = (): DataRouteView[] => this.view();
    const gauge = (name: string, help: string, value: (m: DataMemberView) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['route', 'member'],
        registers: [o.registry],
        collect() {
          this.reset();
          for (const r of views()) for (const m of r.members) {
            const v = value(m);
            if (v !== undefined && Number.isFinite(v)) this.set({ route: r.route, member: m.member }, v);
          }
        },
      });
    };
    gauge('entente_data_member_up', '1 when the member answered its last probe', (m) => (m.role === 'unreachable' || m.role === 'unknown' ? 0 : 1));
    gauge('entente_data_member_primary', '1 for the member that probes as the primary', (m) => (m.role === 'primary' ? 1 : 0));
    gauge('entente_data_replica_lag_seconds', 'Replica lag, an upper bound: seconds of writes it may not have replayed', (m) => (m.role === 'replica' && typeof m.lagSeconds === 'number' ? m.lagSeconds : undefined));
    gauge('entente_data_replica_lag_bytes', 'Replica lag: bytes (positions) behind the primary it has not replayed', (m) => (m.role === 'replica' ? m.lagBytes : undefined));
    gauge('entente_data_member_within_bound', '1 when the member may serve reads (fresh probe, within the DataRoute maxLag)', (m) => (m.withinBound ? 1 : 0));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The routes and members of a (new) resource set: this region's Workloads of each DataRoute's Service. */
  configure(set: ResourceSet): void {
    const old = new Map(this.routes.map((r) => [r.id, r]));
    for (const r of this.routes) clearTimeout(r.timer);
    this.routes = [];
    for (const route of set.dataRoutes) {
      const ns = route.metadata.namespace;
      const service = set.services.find((s) => s.metadata.namespace === ns && s.metadata.name === route.spec.members.service);
      const port = service?.spec.ports.find((p) => p.port === route.spec.members.port);
      if (!port) continue;
      const targets = set.workloads
        .filter((w) => w.metadata.namespace === ns && w.spec.service === route.spec.members.service)
        .map((w): Target => {
          const targetPort = port.targetPort ?? port.port;
          const { probe } = route.spec;
          return {
            workload: w.metadata.name,
            member: nameOf(ns, w.metadata.name, undefined),
            address: `${w.spec.address}:${targetPort}`,
            probe:
              route.spec.protocol === 'http'
                ? { kind: 'http', http: { host: w.spec.address, port: targetPort, path: probe.path ?? '/' } }
                : { kind: 'postgresql', pg: { host: w.spec.address, port: targetPort, user: probe.user ?? 'postgres', database: probe.database, ...(probe.passwordFile ? { passwordFile: probe.passwordFile } : {}) } },
          };
        });
      const id = `${ns}/${route.metadata.name}`;
      const r: RouteProbe = { id, route, targets, entries: old.get(id)?.entries ?? new Map(), running: false };
      this.routes.push(r);
      if (!this.stopped) this.schedule(r, 0);
    }
  }

  private schedule(r: RouteProbe, delayMs: number): void {
    r.timer = setTimeout(() => void this.tick(r), delayMs);
    r.timer.unref();
  }

  private async probeOne(t: Target, timeoutMs: number): Promise<MemberProbeResult> {
    if (t.probe.kind === 'http') return fromHttpProbe(await (this.o.httpProbe ?? probeHttpMember)(t.probe.http, { timeoutMs }));
    return fromPgProbe(await (this.o.probe ?? probePostgres)(t.probe.pg, { timeoutMs }));
  }

  private async tick(r: RouteProbe): Promise<void> {
    if (this.stopped || !this.routes.includes(r) || r.running) return;
    r.running = true;
    const timeoutMs = parseDuration(r.route.spec.probe.timeout);
    try {
      await Promise.all(
        r.targets.map(async (t) => {
          const result = await this.probeOne(t, timeoutMs);
          const at = this.now();
          const prev = r.entries.get(t.member);
          const entry: LocalEntry = prev ?? { result, at, judge: new BoundJudge(), within: false };
          entry.result = result;
          entry.at = at;
          if (result.role !== 'unreachable') entry.lastOk = { result, at };
          r.entries.set(t.member, entry);
          this.probes.inc({ route: r.id, result: result.role === 'unreachable' ? result.error.code : result.role });
          const was = prev?.result.role;
          if (result.role === 'unreachable' && was !== 'unreachable') this.o.log.warn({ route: r.id, member: t.member, code: result.error.code, err: result.error.message }, 'data member cannot be probed: it serves no reads');
          if (result.role !== 'unreachable' && was === 'unreachable') this.o.log.info({ route: r.id, member: t.member, role: result.role }, 'data member answers probes again');
          if (result.role !== 'unreachable' && prev?.lastOk && prev.lastOk.result.role !== result.role) this.o.log.info({ route: r.id, member: t.member, from: prev.lastOk.result.role, to: result.role }, 'data member changed role');
        }),
      );
      this.judge(r);
      const summaryChanged = this.refreshSummary();
      const wire = this.wire();
      const key = JSON.stringify(wire.map((d) => ({ ...d, writes: d.writes.map(withoutPosition), reads: d.reads.map(withoutPosition) })));
      const positions = JSON.stringify(wire.map((d) => [d.writes.map((m) => m.position), d.reads.map((m) => m.position)]));
      const positionsDue = positions !== this.lastPositions && this.now() - this.positionsAt >= POSITION_REFRESH_MS;
      if (key !== this.lastDecision || summaryChanged || positionsDue) {
        this.lastDecision = key;
        this.lastPositions = positions;
        this.positionsAt = this.now();
        this.o.onDecisionChange?.();
      }
    } finally {
      r.running = false;
      if (!this.stopped && this.routes.includes(r)) this.schedule(r, parseDuration(r.route.spec.probe.interval));
    }
  }

  /** Each local replica against the primary known now (here, or in its region's state), through its BoundJudge. */
  private judge(r: RouteProbe): void {
    const now = this.now();
    const maxLagMs = parseDuration(r.route.spec.maxLag);
    const staleAfterMs = parseDuration(r.route.spec.staleAfter);
    const { primary } = currentPrimary(this.members(r), now, staleAfterMs);
    const ref: PrimaryReference | undefined = primary?.probe?.position !== undefined ? { position: primary.probe.position, at: primary.probe.at } : undefined;
    for (const e of r.entries.values()) {
      const res = e.result;
      if (res.role !== 'replica') {
        // A primary serves (writes, and reads last) while its probe is fresh; an unreachable member serves nothing.
        e.within = e.judge.next(res.role === 'primary', res.role === 'primary' && now - e.at <= staleAfterMs);
        delete e.seconds;
        delete e.behind;
        continue;
      }
      const s = replicaStaleness(
        {
          replayed: res.position,
          ...(res.received !== undefined ? { received: res.received } : {}),
          ...(res.replayedCommitAt !== undefined ? { replayedCommitAt: res.replayedCommitAt } : {}),
          ...(res.reportedLagSeconds !== undefined ? { reportedLagSeconds: res.reportedLagSeconds } : {}),
        },
        ref,
        now,
      );
      e.seconds = s.seconds;
      if (s.behind !== undefined) e.behind = s.behind;
      else delete e.behind;
      e.within = e.judge.next(s.seconds * 1000 <= maxLagMs, now - e.at <= staleAfterMs);
    }
  }

  /** Another region's members of a route that it may speak for: its exported Workloads of the route's Service. */
  private remoteMembers(r: RouteProbe): { source: RemoteDataSource; summary: DataMemberSummary }[] {
    const out: { source: RemoteDataSource; summary: DataMemberSummary }[] = [];
    for (const source of this.o.remote?.() ?? []) {
      let checked = this.checked.get(source.region);
      if (!checked || checked.version !== source.version) {
        checked = { version: source.version, members: this.check(source) };
        this.checked.set(source.region, checked);
      }
      for (const m of checked.members) if (m.route === r.id) out.push({ source, summary: m });
    }
    return out;
  }

  private check(source: RemoteDataSource): DataMemberSummary[] {
    const ok: DataMemberSummary[] = [];
    const bad: string[] = [];
    for (const m of source.members) {
      const route = this.routes.find((r) => r.id === m.route);
      if (!route) continue; // a DataRoute we do not have (policy drift): nothing of ours routes by it
      const ns = route.route.metadata.namespace;
      const svc = source.exportedServices.find((s) => s.namespace === ns && s.name === route.route.spec.members.service);
      if (!svc?.endpoints.some((e) => e.name === m.workload)) {
        bad.push(`${m.route} ${m.workload}`);
        this.refused.inc({ region: source.region, reason: 'not_exported_member' });
        continue;
      }
      ok.push(m);
    }
    if (bad.length > 0) this.o.log.warn({ region: source.region, version: source.version, members: bad.slice(0, 10) }, "refused data members in a region's state: not its exported Workloads of the DataRoute's Service");
    return ok;
  }

  /** The route's members as the decision sees them: this region's (judged here) and the others' (as their regions judged them). */
  private members(r: RouteProbe): RoutedMember[] {
    const out: RoutedMember[] = [];
    for (const t of r.targets) {
      const e = r.entries.get(t.member);
      if (!e) continue;
      const last = e.lastOk;
      const probe: MemberProbe | undefined =
        last === undefined
          ? undefined
          : last.result.role === 'primary'
            ? { role: 'primary', at: last.at, position: last.result.position, ...(last.result.timeline !== undefined ? { timeline: last.result.timeline } : {}) }
            : { role: 'replica', at: last.at, position: last.result.position, withinBound: e.within, ...(e.seconds !== undefined && Number.isFinite(e.seconds) ? { lagSeconds: e.seconds } : {}) };
      out.push({ id: t.member, workload: t.workload, region: this.o.region, rttMs: 0, ...(e.result.role === 'unreachable' ? { probeFailed: true } : {}), ...(probe ? { probe } : {}) });
    }
    const maxLagS = parseDuration(r.route.spec.maxLag) / 1000;
    const grace = this.o.remoteGraceMs ?? 0;
    for (const { source, summary: s } of this.remoteMembers(r)) {
      const probe: MemberProbe | undefined =
        s.probedAt === undefined || s.role === 'unreachable'
          ? undefined
          : {
              role: s.role,
              at: s.probedAt,
              ...(s.position !== undefined ? { position: BigInt(`0x${s.position}`) } : {}),
              ...(s.timeline !== undefined ? { timeline: s.timeline } : {}),
              ...(s.lagSeconds !== undefined ? { lagSeconds: s.lagSeconds } : {}),
              ...(s.role === 'replica' ? { withinBound: remoteWithinBound(s, maxLagS) } : {}),
            };
      out.push({
        id: nameOf(r.route.metadata.namespace, s.workload, source.region),
        workload: s.workload,
        region: source.region,
        ...(source.rttMs !== undefined ? { rttMs: source.rttMs } : {}),
        graceMs: grace,
        ...(s.role === 'unreachable' ? { probeFailed: true } : {}),
        ...(probe ? { probe } : {}),
      });
    }
    return out;
  }

  /** Where reads and writes from this region go, with the members' views: for /v1/status and for the agents. */
  private decideRoute(r: RouteProbe, now: number): { view: DataRouteView; reads: readonly RoutedMember[]; writes: readonly RoutedMember[] } {
    const maxLagMs = parseDuration(r.route.spec.maxLag);
    const staleAfterMs = parseDuration(r.route.spec.staleAfter);
    const members: DataMemberView[] = r.targets.map((t) => {
      const e = r.entries.get(t.member);
      const base = { member: t.member, region: this.o.region, address: t.address };
      if (!e) return { ...base, role: 'unknown', withinBound: false };
      const probedAt = e.lastOk ? { probedAt: new Date(e.lastOk.at).toISOString() } : {};
      const res = e.result;
      if (res.role === 'unreachable') return { ...base, role: 'unreachable', ...probedAt, withinBound: false, error: { code: res.error.code, message: res.error.message } };
      if (res.role === 'primary') return { ...base, role: 'primary', ...probedAt, position: showPosition(r.route, res.position), withinBound: e.within };
      return {
        ...base,
        role: 'replica',
        ...probedAt,
        position: showPosition(r.route, res.position),
        ...(e.behind !== undefined ? { lagBytes: e.behind } : {}),
        lagSeconds: e.seconds !== undefined && Number.isFinite(e.seconds) ? e.seconds : null,
        withinBound: e.within,
        ...(res.paused !== undefined ? { paused: res.paused } : {}),
      };
    });
    for (const { source, summary: s } of this.remoteMembers(r)) {
      const fresh = s.probedAt !== undefined && now - s.probedAt <= staleAfterMs + (this.o.remoteGraceMs ?? 0);
      members.push({
        member: nameOf(r.route.metadata.namespace, s.workload, source.region),
        region: source.region,
        role: s.role,
        ...(s.probedAt !== undefined ? { probedAt: new Date(s.probedAt).toISOString() } : {}),
        ...(s.position !== undefined ? { position: showPosition(r.route, BigInt(`0x${s.position}`)) } : {}),
        ...(s.role === 'replica' ? { lagSeconds: s.lagSeconds ?? null } : {}),
        ...(s.paused ? { paused: true } : {}),
        withinBound: fresh && (s.role === 'primary' || remoteWithinBound(s, maxLagMs / 1000)),
      });
    }
    const decisionMembers = this.members(r);
    const reads = decide({ kind: 'read', members: decisionMembers, now, maxLagMs, staleAfterMs });
    const writes = decide({ kind: 'write', members: decisionMembers, now, maxLagMs, staleAfterMs });
    const primary = writes.order[0]?.id;
    return {
      view: {
        route: r.id,
        maxLagMs,
        members,
        ...(primary ? { primary } : {}),
        reads: { order: reads.order.map((m) => m.id), why: reads.why },
        writes: { order: writes.order.map((m) => m.id), why: writes.why },
      },
      reads: reads.order,
      writes: writes.order,
    };
  }

  view(): DataRouteView[] {
    const now = this.now();
    return this.routes.map((r) => this.decideRoute(r, now).view);
  }

  /**
   * For the region state: this region's members, refreshed at most every
   * SUMMARY_REFRESH_MS while only positions, lag and probe times move, at once
   * when a role or a judgement changes. Returns whether it changed.
   */
  private refreshSummary(): boolean {
    const now = this.now();
    const next: DataMemberSummary[] = [];
    for (const r of this.routes) {
      for (const t of r.targets) {
        const e = r.entries.get(t.member);
        if (!e) continue;
        const last = e.lastOk;
        const role = e.result.role;
        next.push({
          route: r.id,
          workload: t.workload,
          role,
          ...(last ? { probedAt: last.at, position: hex(last.result.position) } : {}),
          ...(last?.result.role === 'primary' && last.result.timeline !== undefined ? { timeline: last.result.timeline } : {}),
          ...(role === 'replica' && e.seconds !== undefined && Number.isFinite(e.seconds) ? { lagSeconds: Math.round(e.seconds * 100) / 100 } : {}),
          ...(role === 'replica' ? { withinBound: e.within } : {}),
          ...(last?.result.role === 'replica' && last.result.paused ? { paused: true } : {}),
        });
      }
    }
    const key = JSON.stringify(next.map((m) => [m.route, m.workload, m.role, m.withinBound, m.timeline]));
    if (key === this.summaryKey && now - this.summaryAt < SUMMARY_REFRESH_MS) return false;
    this.summary = next;
    this.summaryKey = key;
    this.summaryAt = now;
    return true;
  }

  /** This region's members for its region state (rate-limited: refreshSummary). */
  regionSummary(): readonly DataMemberSummary[] {
    return this.summary;
  }

  /** For the agents' config: each DataRoute's members writes and reads go to, in order, with their regions. */
  wire(): WireDataRoute[] {
    const now = this.now();
    return this.routes.map((r) => {
      const { reads, writes } = this.decideRoute(r, now);
      const { tcp, probe } = r.route.spec;
      // HTTP: the agents compare a consistency token with each member's position, so it travels too.
      const http = r.route.spec.protocol === 'http' ? httpSettings(r.route) : undefined;
      const withPosition = http !== undefined;
      const member = (m: RoutedMember): WireDataMember => ({ workload: m.workload, region: m.region, ...(withPosition && m.probe?.position !== undefined ? { position: hex(m.probe.position) } : {}) });
      return {
        namespace: r.route.metadata.namespace,
        name: r.route.metadata.name,
        service: r.route.spec.members.service,
        protocol: r.route.spec.protocol,
        ...(tcp ? { readWrite: tcp.readWrite, readOnly: tcp.readOnly, stickyAfterWriteMs: parseDuration(tcp.stickyAfterWrite) } : {}),
        ...(withPosition ? { http: { writes: http.writes, tokenHeader: http.tokenHeader, positionPath: probe.path ?? '/' } } : {}),
        writes: writes.map(member),
        reads: reads.map(member),
      };
    });
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.routes) clearTimeout(r.timer);
  }
}
