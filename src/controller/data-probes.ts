// The region's data-service probes (docs/data-routing.md): for every
// DataRoute of protocol postgresql, the controller probes each member
// Workload of its own region over SQL every `probe.interval`, finds the
// primary, computes each replica's lag against it, and says where reads and
// writes from this region would go (route-decision.ts). Shown in /v1/status
// (`data`), `entente status` and the metrics. Lag of replicas whose primary
// runs in another region needs that region's position: not yet (the primary's
// position is not in the region state), so such replicas show their replay
// position and "lag unknown", and count as over the bound.
import { Gauge, Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { parseDuration } from '../core/duration.js';
import type { ResourceSet } from '../policy/resource-set.js';
import type { DataRoute } from '../policy/resources.js';
import { probePostgres, replicaLag, type PgProbeResult, type PgProbeTarget } from '../data/pg-probe.js';
import { formatLsn } from '../data/lsn.js';
import { decide, type Member } from '../data/route-decision.js';
import type { WireDataRoute } from '../mesh/mesh-config.js';

export interface DataMemberView {
  readonly member: string;
  readonly address: string;
  readonly role: 'primary' | 'replica' | 'unreachable' | 'unknown';
  /** When the last probe answered, ISO time. */
  readonly probedAt?: string;
  readonly position?: string;
  readonly lagBytes?: number;
  /** null: behind with nothing replayed yet, or the primary's position is unknown. */
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

interface Target {
  readonly member: string;
  readonly pg: PgProbeTarget;
}

interface RouteProbe {
  readonly id: string;
  readonly route: DataRoute;
  readonly targets: readonly Target[];
  readonly results: Map<string, { result: PgProbeResult; at: number; lastOk?: { result: PgProbeResult; at: number } }>;
  timer?: NodeJS.Timeout;
  running: boolean;
}

export type Prober = (target: PgProbeTarget, opts: { timeoutMs: number }) => Promise<PgProbeResult>;

export class DataProbes {
  private routes: RouteProbe[] = [];
  private readonly probes: Counter<'route' | 'result'>;
  private stopped = false;
  private lastDecision = '';

  constructor(
    private readonly o: {
      readonly log: Logger;
      readonly registry: Registry;
      readonly probe?: Prober;
      readonly now?: () => number;
      /** Called when where reads or writes go changed (the controller pushes a new config). */
      readonly onDecisionChange?: () => void;
    },
  ) {
    this.probes = new Counter({ name: 'entente_data_probes_total', help: 'Probes of data-service members, by DataRoute and result (a role, or an error code)', labelNames: ['route', 'result'], registers: [o.registry] });
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
    gauge('entente_data_replica_lag_seconds', 'Replica lag: seconds since its last replayed transaction while it is behind the primary, 0 when caught up', (m) => (m.role === 'replica' && typeof m.lagSeconds === 'number' ? m.lagSeconds : undefined));
    gauge('entente_data_replica_lag_bytes', 'Replica lag: WAL bytes it has not replayed', (m) => (m.role === 'replica' ? m.lagBytes : undefined));
    gauge('entente_data_member_within_bound', '1 when the member may serve reads (fresh probe, within the DataRoute maxLag)', (m) => (m.withinBound ? 1 : 0));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The routes and members of a (new) resource set: this region's Workloads of each postgresql DataRoute's Service. */
  configure(set: ResourceSet): void {
    const old = new Map(this.routes.map((r) => [r.id, r]));
    for (const r of this.routes) clearTimeout(r.timer);
    this.routes = [];
    for (const route of set.dataRoutes) {
      if (route.spec.protocol !== 'postgresql') continue;
      const ns = route.metadata.namespace;
      const service = set.services.find((s) => s.metadata.namespace === ns && s.metadata.name === route.spec.members.service);
      const port = service?.spec.ports.find((p) => p.port === route.spec.members.port);
      if (!port) continue;
      const targets = set.workloads
        .filter((w) => w.metadata.namespace === ns && w.spec.service === route.spec.members.service)
        .map((w) => ({
          member: `${ns}/${w.metadata.name}`,
          pg: { host: w.spec.address, port: port.targetPort ?? port.port, user: route.spec.probe.user ?? 'postgres', database: route.spec.probe.database, ...(route.spec.probe.passwordFile ? { passwordFile: route.spec.probe.passwordFile } : {}) },
        }));
      const id = `${ns}/${route.metadata.name}`;
      const r: RouteProbe = { id, route, targets, results: old.get(id)?.results ?? new Map(), running: false };
      this.routes.push(r);
      if (!this.stopped) this.schedule(r, 0);
    }
  }

  private schedule(r: RouteProbe, delayMs: number): void {
    r.timer = setTimeout(() => void this.tick(r), delayMs);
    r.timer.unref();
  }

  private async tick(r: RouteProbe): Promise<void> {
    if (this.stopped || !this.routes.includes(r) || r.running) return;
    r.running = true;
    const timeoutMs = parseDuration(r.route.spec.probe.timeout);
    const probe = this.o.probe ?? probePostgres;
    try {
      await Promise.all(
        r.targets.map(async (t) => {
          const result = await probe(t.pg, { timeoutMs });
          const at = this.now();
          const prev = r.results.get(t.member);
          const ok = result.role !== 'unreachable';
          r.results.set(t.member, { result, at, ...(ok ? { lastOk: { result, at } } : prev?.lastOk ? { lastOk: prev.lastOk } : {}) });
          this.probes.inc({ route: r.id, result: result.role === 'unreachable' ? result.error.code : result.role });
          if (!ok && prev?.result.role !== 'unreachable') this.o.log.warn({ route: r.id, member: t.member, code: result.error.code, err: result.error.message }, 'data member cannot be probed: it serves no reads');
          if (ok && prev?.result.role === 'unreachable') this.o.log.info({ route: r.id, member: t.member, role: result.role }, 'data member answers probes again');
          if (ok && prev?.lastOk && prev.lastOk.result.role !== result.role) this.o.log.info({ route: r.id, member: t.member, from: prev.lastOk.result.role, to: result.role }, 'data member changed role');
        }),
      );
      const key = this.decisionKey();
      if (key !== this.lastDecision) {
        this.lastDecision = key;
        this.o.onDecisionChange?.();
      }
    } finally {
      r.running = false;
      if (!this.stopped && this.routes.includes(r)) this.schedule(r, parseDuration(r.route.spec.probe.interval));
    }
  }

  view(): DataRouteView[] {
    const now = this.now();
    return this.routes.map((r) => {
      const maxLagMs = parseDuration(r.route.spec.maxLag);
      const staleAfterMs = parseDuration(r.route.spec.staleAfter);
      let primaryLsn: bigint | undefined;
      const primaries = r.targets.filter((t) => r.results.get(t.member)?.result.role === 'primary');
      if (primaries.length === 1) {
        const p = r.results.get(primaries[0]!.member)!.result;
        if (p.role === 'primary') primaryLsn = p.lsn;
      }
      const decisionMembers: Member[] = [];
      const members: DataMemberView[] = r.targets.map((t) => {
        const entry = r.results.get(t.member);
        const address = `${t.pg.host}:${t.pg.port}`;
        if (!entry) return { member: t.member, address, role: 'unknown', withinBound: false };
        const { result, at } = entry;
        const probedAt = new Date(entry.lastOk?.at ?? at).toISOString();
        if (result.role === 'unreachable') {
          const last = entry.lastOk?.result;
          decisionMembers.push({ id: t.member, region: 'local', rttMs: 0, probeFailed: true, ...(last && last.role !== 'unreachable' ? { probe: { role: last.role, at: entry.lastOk!.at } } : {}) });
          return { member: t.member, address, role: 'unreachable', ...(entry.lastOk ? { probedAt } : {}), withinBound: false, error: { code: result.error.code, message: result.error.message } };
        }
        if (result.role === 'primary') {
          decisionMembers.push({ id: t.member, region: 'local', rttMs: 0, probe: { role: 'primary', at, position: result.lsn } });
          return { member: t.member, address, role: 'primary', probedAt, position: formatLsn(result.lsn), withinBound: now - at <= staleAfterMs };
        }
        const lag = primaryLsn !== undefined ? replicaLag(primaryLsn as Parameters<typeof replicaLag>[0], result, at) : undefined;
        const lagSeconds = lag === undefined || !Number.isFinite(lag.seconds) ? undefined : lag.seconds;
        decisionMembers.push({ id: t.member, region: 'local', rttMs: 0, probe: { role: 'replica', at, position: result.replayLsn, ...(lagSeconds !== undefined ? { lagSeconds } : {}) } });
        return {
          member: t.member,
          address,
          role: 'replica',
          probedAt,
          position: formatLsn(result.replayLsn),
          ...(lag ? { lagBytes: lag.bytes } : {}),
          lagSeconds: lagSeconds ?? null,
          withinBound: now - at <= staleAfterMs && lagSeconds !== undefined && lagSeconds * 1000 <= maxLagMs,
          paused: result.paused,
        };
      });
      const reads = decide({ kind: 'read', members: decisionMembers, now, maxLagMs, staleAfterMs });
      const writes = decide({ kind: 'write', members: decisionMembers, now, maxLagMs, staleAfterMs });
      const primary = writes.order[0]?.id;
      return {
        route: r.id,
        maxLagMs,
        members,
        ...(primary ? { primary } : {}),
        reads: { order: reads.order.map((m) => m.id), why: reads.why },
        writes: { order: writes.order.map((m) => m.id), why: writes.why },
      };
    });
  }

  private decisionKey(): string {
    return JSON.stringify(this.wire());
  }

  /** For the agents' config: the names of each postgresql DataRoute and the members reads and writes go to. */
  wire(): WireDataRoute[] {
    const views = new Map(this.view().map((v) => [v.route, v]));
    return this.routes.flatMap((r) => {
      const v = views.get(r.id);
      const tcp = r.route.spec.tcp;
      if (!v || !tcp) return [];
      const name = (id: string): string => id.slice(id.indexOf('/') + 1);
      // Reads: the replicas within the bound; the primary only when none is (it is last in the decision's order).
      const replicas = v.reads.order.filter((id) => id !== v.primary);
      const reads = replicas.length > 0 ? replicas : v.primary ? [v.primary] : [];
      return [{ namespace: r.route.metadata.namespace, service: r.route.spec.members.service, readWrite: tcp.readWrite, readOnly: tcp.readOnly, writes: v.writes.order.map(name), reads: reads.map(name) }];
    });
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.routes) clearTimeout(r.timer);
  }
}
