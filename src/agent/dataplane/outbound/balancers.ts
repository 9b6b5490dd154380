// The balancer seam of the outbound stack: one Balancer (balance/balancer.ts)
// per mesh host:port, created on first use and fed a new endpoint set when
// the snapshot's list for it changes. It learns endpoint health from each
// attempt's result and region RTTs from the pool's pings, and publishes an
// immutable picker this class swaps in. Also the circuit breakers, one per
// destination service.
import type { Endpoint } from '../dataplane-snapshot.js';
import type { Outcome } from '../outcome.js';
import type { OutboundCall } from './call.js';
import { formatSocketAddress } from '../../../core/address.js';
import { Balancer, type BalancerView, type CallHandle } from './balance/balancer.js';
import type { BalancedEndpoint, Picker } from './balance/picker.js';
import type { CallResult } from './balance/outlier-detector.js';
import { CircuitBreaker } from './balance/circuit-breaker.js';
import { PathClass } from './balance/picker.js';
import { PathRecovery } from './balance/path-recovery.js';
import type { TrafficSettings } from '../../../policy/traffic-policy.js';

export type Pick =
  | {
      kind: 'pick';
      endpoint: Endpoint;
      key: string;
      start(): CallHandle;
      /**
       * When the pick went to another region: endpoints of the next level the
       * picker would fail over to (at most STANDBY_ENDPOINTS), whose sessions
       * the pool keeps warm so a failover does not pay a cold WAN handshake.
       */
      standby: readonly Endpoint[];
    }
  | { kind: 'none'; reason: string };

interface Balanced extends BalancedEndpoint {
  readonly endpoint: Endpoint;
}

interface Destination {
  readonly balancer: Balancer<Balanced>;
  /** The settings it was built with: a changed TrafficPolicy builds a new balancer. */
  readonly traffic: TrafficSettings;
  picker: Picker<Balanced>;
  /** The snapshot's endpoint list the balancer was fed (identity compare: snapshots are immutable). */
  source: readonly Endpoint[];
  rttCheckedAt: number;
  /** The snapshot sets its order was last checked against. */
  regionsSeen?: ReadonlySet<string> | undefined;
  staleSeen?: ReadonlySet<string> | undefined;
}

export function endpointKey(e: Endpoint): string {
  return `${e.spiffeId.toString()}|${formatSocketAddress(e.dial)}|${e.authority}`;
}

/** What an attempt's outcome says about the endpoint's health. */
export function callResult(o: Outcome): CallResult {
  if (o.kind === 'done') return o.status >= 500 ? '5xx' : 'ok';
  switch (o.code) {
    case 'connect_failed':
      return 'connect';
    case 'reset':
    case 'path_cut':
    case 'stream_refused':
    case 'timeout':
      return 'reset';
    case 'upstream_5xx':
      return '5xx';
    case 'refused':
      // The destination agent answered, but could not serve (its app is down, its bulkhead full).
      return (o.status ?? 0) >= 500 ? '5xx' : 'ok';
    default:
      // A policy denial or the caller leaving says nothing about the endpoint.
      return 'ok';
  }
}

const keys = new WeakMap<TrafficSettings, string>();

/** What of the settings shapes a balancer: a new snapshot with the same ones keeps loads and ejections. */
function balancingKey(t: TrafficSettings): string {
  let k = keys.get(t);
  if (k === undefined) {
    k = `${t.locality}|${JSON.stringify(t.outlier)}`;
    keys.set(t, k);
  }
  return k;
}

/** Endpoints of the next level kept warm (standby) per destination. */
export const STANDBY_ENDPOINTS = 2;

/** The standby of each level of a picker, computed once per picker (pickers are immutable). */
const standbys = new WeakMap<Picker<Balanced>, (readonly Endpoint[])[]>();

function standbyAfter(picker: Picker<Balanced>, level: number, cut: (e: Balanced) => boolean): readonly Endpoint[] {
  let byLevel = standbys.get(picker);
  if (!byLevel) {
    const order = picker.order();
    byLevel = order.map((_, i) => {
      // Only a pick that already crosses regions (level 2 on) keeps a standby: the next remote path
      // the probes do not find cut (dialling a dead path would only hang until the connect timeout).
      if (i < 2) return [];
      const next = order.slice(i + 1).find((l) => l.length > 0 && !cut(l[0]!));
      return (next ?? []).slice(0, STANDBY_ENDPOINTS).map((e) => e.endpoint);
    });
    standbys.set(picker, byLevel);
  }
  return byLevel[level] ?? [];
}

/** How often a destination re-reads region RTTs (a reorder builds a new picker). */
const RTT_CHECK_MS = 1000;

export interface BalancersOptions {
  readonly now: () => number;
  /** Told each time outlier detection ejects an endpoint of a service. */
  readonly onEjection?: (service: string) => void;
  readonly rttMs: (region: string) => number | undefined;
  /** Regions held stale right now (the current snapshot's): ranked after every fresh one. */
  readonly staleRegions?: () => ReadonlySet<string> | undefined;
  /** Regions whose direct path the gateways find unreachable right now (the current snapshot's): ranked last. */
  readonly unreachableRegions?: () => ReadonlySet<string> | undefined;
  readonly random?: () => number;
}

export class Balancers {
  private readonly destinations = new Map<string, Destination>();
  private readonly breakers = new Map<string, { options: TrafficSettings['breaker']; breaker: CircuitBreaker }>();
  private readonly random: () => number;
  private readonly recovery = new PathRecovery();
  private seenStale: ReadonlySet<string> | undefined;
  private seenUnreachable: ReadonlySet<string> | undefined;
  private readonly regions = new Set<string>();
  /** A path the probes find cut is no standby (built once: picks pass it on every call). */
  private readonly isCut = (e: BalancedEndpoint): boolean => this.pathClass(e.region, e.via) === PathClass.unreachable;

  constructor(private readonly opts: BalancersOptions) {
    this.random = opts.random ?? Math.random;
  }

  private stale(region: string): boolean {
    return this.opts.staleRegions?.()?.has(region) ?? false;
  }

  private unreachable(region: string): boolean {
    return this.opts.unreachableRegions?.()?.has(region) ?? false;
  }

  /** A path's class: relayed or direct, demoted when the region is stale, last when its direct path is cut. */
  pathClass(region: string, via: string | undefined): number {
    if (this.stale(region)) return PathClass.stale;
    if (via !== undefined) return PathClass.relayed;
    return this.unreachable(region) ? PathClass.unreachable : PathClass.direct;
  }

  /**
   * Follows the snapshot's stale and unreachable sets (identity compare: each
   * snapshot has its own) for slow start. The data plane calls it when it
   * swaps a snapshot in, so a path's slow start runs from when it came back,
   * not from the next pick (after an idle spell that would ramp a path long
   * healed); picks call it too, which costs one compare.
   */
  observeRegions(): void {
    const stale = this.opts.staleRegions?.();
    const unreachable = this.opts.unreachableRegions?.();
    if (stale === this.seenStale && unreachable === this.seenUnreachable) return;
    this.seenStale = stale;
    this.seenUnreachable = unreachable;
    const now = this.opts.now();
    for (const r of this.regions) this.recovery.observe(r, !this.stale(r) && !this.unreachable(r), now);
  }

  private destination(call: OutboundCall): Destination {
    const key = `${(call.balanceHost ?? call.host).toLowerCase()}:${call.port}|${call.workload?.zone ?? ''}`;
    const endpoints = call.endpoints ?? [];
    let d = this.destinations.get(key);
    if (!d || (d.traffic !== call.traffic && balancingKey(d.traffic) !== balancingKey(call.traffic))) {
      const t = call.traffic;
      // locality "region" ignores zones; "none" ranks every region, ours included, by RTT alone.
      const zone = t.locality === 'zone' ? call.workload?.zone : undefined;
      const region = t.locality === 'none' ? '' : call.snapshot.region;
      const holder: { picker?: Picker<Balanced> } = {};
      const balancer = new Balancer<Balanced>(
        {
          updatePicker: (p) => {
            holder.picker = p;
            if (d) d.picker = p;
          },
          now: this.opts.now,
          rttMs: this.opts.rttMs,
          demoted: (region) => this.stale(region),
          pathClass: (region, via) => this.pathClass(region, via),
          share: (region, via) => (via === undefined ? this.recovery.share(region, this.opts.now()) : 1),
        },
        { region, ...(zone !== undefined ? { zone } : {}), outlier: t.outlier, onEjection: () => this.opts.onEjection?.(call.service ?? '') },
      );
      d = { balancer, traffic: t, picker: holder.picker!, source: [], rttCheckedAt: this.opts.now() };
      this.destinations.set(key, d);
    }
    if (d.source !== endpoints) {
      d.source = endpoints;
      for (const e of endpoints) {
        if (e.region === call.snapshot.region || this.regions.has(e.region)) continue;
        this.regions.add(e.region);
        this.recovery.observe(e.region, !this.stale(e.region) && !this.unreachable(e.region), this.opts.now());
      }
      d.balancer.setEndpoints(endpoints.map((e) => ({ key: endpointKey(e), region: e.region, ...(e.zone !== undefined ? { zone: e.zone } : {}), ...(e.via !== undefined ? { via: e.via } : {}), weight: e.weight, endpoint: e })));
    }
    this.observeRegions();
    const now = this.opts.now();
    d.balancer.tick();
    // Every second, and at once when a region's reachability or staleness changed: the order may have moved.
    if (now - d.rttCheckedAt >= RTT_CHECK_MS || d.regionsSeen !== this.seenUnreachable || d.staleSeen !== this.seenStale) {
      d.regionsSeen = this.seenUnreachable;
      d.staleSeen = this.seenStale;
      d.rttCheckedAt = now;
      d.balancer.rttChanged();
    }
    return d;
  }

  pick(call: OutboundCall): Pick {
    const d = this.destination(call);
    let r = d.picker.pick({ ...(call.tried ? { exclude: call.tried } : {}), random: this.random });
    // A retry prefers an endpoint it has not tried; when it has tried them all, any usable one will do.
    if (r.kind === 'none' && call.tried && call.tried.size > 0) r = d.picker.pick({ random: this.random });
    if (r.kind === 'none') return { kind: 'none', reason: r.reason };
    const key = r.endpoint.key;
    return { kind: 'pick', endpoint: r.endpoint.endpoint, key, start: () => d.balancer.start(key), standby: standbyAfter(d.picker, r.level, this.isCut) };
  }

  /** Every destination's pick order, ejections and slow start, for the agent's /balancers (sorted by destination). */
  describe(): ({ destination: string } & BalancerView)[] {
    return [...this.destinations.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([destination, d]) => ({ destination, ...d.balancer.describe(d.picker) }));
  }

  /** The breaker of one destination service (bounded by the number of services); a changed limit starts a new one. */
  breaker(service: string, options: TrafficSettings['breaker']): CircuitBreaker {
    const held = this.breakers.get(service);
    if (held && held.options === options) return held.breaker;
    const breaker = new CircuitBreaker(service, options);
    this.breakers.set(service, { options, breaker });
    return breaker;
  }
}
