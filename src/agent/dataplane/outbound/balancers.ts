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
import { Balancer, type CallHandle } from './balance/balancer.js';
import type { BalancedEndpoint, Picker } from './balance/picker.js';
import type { CallResult } from './balance/outlier-detector.js';
import { CircuitBreaker } from './balance/circuit-breaker.js';
import type { TrafficSettings } from '../../../policy/traffic-policy.js';

export type Pick =
  | { kind: 'pick'; endpoint: Endpoint; key: string; start(): CallHandle }
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

/** How often a destination re-reads region RTTs (a reorder builds a new picker). */
const RTT_CHECK_MS = 1000;

export interface BalancersOptions {
  readonly now: () => number;
  /** Told each time outlier detection ejects an endpoint of a service. */
  readonly onEjection?: (service: string) => void;
  readonly rttMs: (region: string) => number | undefined;
  /** Regions held stale right now (the current snapshot's): ranked after every fresh one. */
  readonly staleRegions?: () => ReadonlySet<string> | undefined;
  readonly random?: () => number;
}

export class Balancers {
  private readonly destinations = new Map<string, Destination>();
  private readonly breakers = new Map<string, { options: TrafficSettings['breaker']; breaker: CircuitBreaker }>();
  private readonly random: () => number;

  constructor(private readonly opts: BalancersOptions) {
    this.random = opts.random ?? Math.random;
  }

  private destination(call: OutboundCall): Destination {
    const key = `${call.host.toLowerCase()}:${call.port}|${call.workload?.zone ?? ''}`;
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
          demoted: (region) => this.opts.staleRegions?.()?.has(region) ?? false,
        },
        { region, ...(zone !== undefined ? { zone } : {}), outlier: t.outlier, onEjection: () => this.opts.onEjection?.(call.service ?? '') },
      );
      d = { balancer, traffic: t, picker: holder.picker!, source: [], rttCheckedAt: this.opts.now() };
      this.destinations.set(key, d);
    }
    if (d.source !== endpoints) {
      d.source = endpoints;
      d.balancer.setEndpoints(endpoints.map((e) => ({ key: endpointKey(e), region: e.region, ...(e.zone !== undefined ? { zone: e.zone } : {}), weight: e.weight, endpoint: e })));
    }
    const now = this.opts.now();
    d.balancer.tick();
    if (now - d.rttCheckedAt >= RTT_CHECK_MS) {
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
    return { kind: 'pick', endpoint: r.endpoint.endpoint, key, start: () => d.balancer.start(key) };
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
