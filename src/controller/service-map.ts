// The service map of the dashboard: one edge per (caller, callee, their
// regions) over a recent window of flow records, with its request rate,
// errors, denials, latency percentiles and whether it meets its SLO. Built
// from the callers' records only (direction outbound), so a call that
// crossed regions is counted once; a pure function of the flows, tested
// without a mesh.
import type { StoredFlow } from '../mesh/flow-wire.js';
import { workloadAccount } from '../identity/workload-account.js';

export interface SloTarget {
  /** Share of calls that must not fail (verdict error), e.g. 0.99. Denials are policy, not failures. */
  readonly availability: number;
  /** p99 latency bound, ms. */
  readonly latencyP99Ms: number;
}

export interface SloConfig extends SloTarget {
  /** Per destination service ("namespace/name"). */
  readonly services: Readonly<Record<string, Partial<SloTarget>>>;
}

export interface ServiceEdge {
  readonly source: string;
  readonly sourceRegion: string;
  readonly destination: string;
  readonly destinationRegion: string;
  readonly requests: number;
  /** Requests per second over the window. */
  readonly rate: number;
  readonly errors: number;
  readonly denied: number;
  /** errors / (requests - denied): the share of calls policy let through that failed. */
  readonly errorRatio: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly slo: SloTarget & { readonly availabilityMet: boolean; readonly latencyMet: boolean };
}

export interface ServiceMap {
  readonly windowMs: number;
  /** The records looked at; when the store held fewer than the window, the rates are over what it held. */
  readonly flows: number;
  readonly services: readonly { name: string; region: string }[];
  readonly edges: readonly ServiceEdge[];
}

/** "namespace/serviceaccount" of a caller's SPIFFE ID: its service, by Entente's convention. */
export function callerService(source: string | undefined): string {
  if (source === undefined) return 'unknown';
  return workloadAccount(source) ?? source;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function targetFor(slo: SloConfig, service: string): SloTarget {
  const o = slo.services[service];
  return { availability: o?.availability ?? slo.availability, latencyP99Ms: o?.latencyP99Ms ?? slo.latencyP99Ms };
}

export function buildServiceMap(flows: readonly StoredFlow[], now: number, windowMs: number, slo: SloConfig): ServiceMap {
  const since = now - windowMs;
  const calls = flows.filter((f) => f.direction === 'outbound' && f.time >= since && f.service !== undefined);
  // Rates are over the window, or over the span the records cover when the store held less.
  const oldest = calls.reduce((t, f) => Math.min(t, f.time), now);
  const spanMs = Math.max(1000, calls.length > 0 && oldest > since ? now - oldest : windowMs);
  const groups = new Map<string, StoredFlow[]>();
  for (const f of calls) {
    const key = `${callerService(f.source)}|${f.sourceRegion ?? f.region}|${f.service}|${f.destinationRegion ?? '?'}`;
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  const services = new Map<string, { name: string; region: string }>();
  const edges: ServiceEdge[] = [];
  for (const [key, g] of groups) {
    const [source, sourceRegion, destination, destinationRegion] = key.split('|') as [string, string, string, string];
    services.set(`${source}|${sourceRegion}`, { name: source, region: sourceRegion });
    if (destinationRegion !== '?') services.set(`${destination}|${destinationRegion}`, { name: destination, region: destinationRegion });
    const errors = g.filter((f) => f.verdict === 'error').length;
    const denied = g.filter((f) => f.verdict === 'deny').length;
    const durations = g.filter((f) => f.verdict === 'allow').map((f) => f.durationMs).sort((a, b) => a - b);
    const passed = g.length - denied;
    const errorRatio = passed > 0 ? errors / passed : 0;
    const p99Ms = percentile(durations, 0.99);
    const target = targetFor(slo, destination);
    edges.push({
      source,
      sourceRegion,
      destination,
      destinationRegion,
      requests: g.length,
      rate: g.length / (spanMs / 1000),
      errors,
      denied,
      errorRatio,
      p50Ms: percentile(durations, 0.5),
      p99Ms,
      slo: { ...target, availabilityMet: 1 - errorRatio >= target.availability, latencyMet: durations.length === 0 || p99Ms <= target.latencyP99Ms },
    });
  }
  edges.sort((a, b) => b.rate - a.rate || a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
  return { windowMs, flows: calls.length, services: [...services.values()].sort((a, b) => a.region.localeCompare(b.region) || a.name.localeCompare(b.name)), edges };
}
