// TrafficPolicy compiled for the data plane: one frozen TrafficSettings per
// (service, port), in milliseconds and plain numbers with every default applied,
// built once per config so the call path only does a Map lookup.
import { parseDuration } from '../core/duration.js';
import { normalizeRequestPath } from './request-path.js';
import { compilePatternSet, matchesPatternSet, parseStringPattern, type PatternSet, type StringPattern } from './string-pattern.js';
import type { TrafficPolicy } from './resources.js';

/**
 * When a failed attempt may be retried (docs/configuration.md, "TrafficPolicy").
 * connect-failure and refused-stream mean the destination never started on the
 * request; the others mean it may have.
 */
export const RETRY_ON = ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'gateway-error', '5xx'] as const;
export type RetryOn = (typeof RETRY_ON)[number];

export const LOCALITIES = ['zone', 'region', 'none'] as const;
export type Locality = (typeof LOCALITIES)[number];

/** RFC 9110 9.2.2: repeating these has the effect of sending once, so any of them may be retried. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface RetrySettings {
  /** Extra attempts after the first; 0: never retry. */
  readonly attempts: number;
  /** Bound on each attempt; 0: none (only the request timeout bounds it). */
  readonly perTryTimeoutMs: number;
  readonly retryOn: ReadonlySet<RetryOn>;
  /** May this request be sent again? Idempotent methods always; others only on a retryable route. */
  isRetryable(method: string, path: string): boolean;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Retries may add at most `ratio` of the requests of the last `windowMs`, plus `minPerSecond`. */
  readonly budget: { readonly ratio: number; readonly minPerSecond: number; readonly windowMs: number };
}

export interface TrafficSettings {
  readonly connectTimeoutMs: number;
  /** The whole call, retries included (HTTP ports); 0: none. */
  readonly requestTimeoutMs: number;
  /** No bytes either way for this long closes the stream (both modes). */
  readonly idleTimeoutMs: number;
  readonly retry: RetrySettings;
  readonly outlier: {
    readonly consecutiveFailures: number;
    readonly baseEjectionMs: number;
    readonly maxEjectionMs: number;
    readonly maxEjectedPercent: number;
  };
  readonly breaker: { readonly maxRequests: number; readonly maxPending: number };
  readonly locality: Locality;
  /** "namespace/name" of the TrafficPolicy these come from (flow records); absent: the defaults. */
  readonly policy?: string;
}

/** What the compiler needs of a Service: the MeshConfig's WireService fits. */
export interface TrafficService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly { readonly port: number }[];
}

export interface TrafficTable {
  /** Never undefined: a (service, port) no TrafficPolicy selects gets DEFAULT_TRAFFIC itself. */
  settingsFor(namespace: string, service: string, port: number): TrafficSettings;
  /** How many (service, port) pairs a TrafficPolicy governs. */
  readonly size: number;
}

const idempotentOnly = (method: string): boolean => IDEMPOTENT_METHODS.has(method.toUpperCase());

/**
 * The settings of every (service, port) no TrafficPolicy selects. Each
 * default, and why (the resource schema fills in the same values):
 */
export const DEFAULT_TRAFFIC: TrafficSettings = deepFreeze({
  // Envoy's default. A TCP and TLS handshake to a peer agent or gateway that
  // takes longer is not coming; the lab's widest RTT (220 ms) fits 20 times over.
  connectTimeoutMs: 5_000,
  // None (Istio's and Linkerd's default): the mesh cannot know how long an
  // app's calls legitimately take (long polls, streams), and cutting them is worse.
  requestTimeoutMs: 0,
  // Envoy's default for HTTP and TCP: reclaims streams whose peer vanished
  // without a FIN, long enough for connection pools that keep quiet connections.
  idleTimeoutMs: 3_600_000,
  retry: {
    // Two extra attempts (Istio's default): enough to step past one bad
    // endpoint and a second, few enough to bound the added load to 3x.
    attempts: 2,
    // None: the request timeout, when set, bounds all attempts together.
    perTryTimeoutMs: 0,
    // Only failures where the destination never started on the request: safe
    // to repeat whatever the app does. The others are opt-in.
    retryOn: new Set<RetryOn>(['connect-failure', 'refused-stream']),
    isRetryable: idempotentOnly,
    // Envoy's defaults (25 ms base, 10x cap): spreads retries without
    // holding a call back noticeably.
    backoff: { baseMs: 25, maxMs: 250 },
    // Linkerd's defaults: retries add at most 20% to the load, plus 10 per
    // second so a quiet service can still retry; counted over 10 s.
    budget: { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 },
  },
  outlier: {
    // Not Envoy's 5 in a row every 10 s: three consecutive failures eject at
    // once (no interval), so a dead replica costs three calls, not seconds.
    consecutiveFailures: 3,
    // 10 s, growing with each ejection up to 60 s: short enough that a
    // replica back from a restart serves again soon, long enough that a flapping one sits out.
    baseEjectionMs: 10_000,
    maxEjectionMs: 60_000,
    // Not Envoy's 10%: services here have few endpoints, and a tenth of two
    // or three ejects none; half keeps at least half of them in rotation.
    maxEjectedPercent: 50,
  },

  // Envoy's defaults; the same as the destination agent's
  // limits.maxConnectionsPerWorkload, so the client side does not bind first.
  breaker: { maxRequests: 1024, maxPending: 1024 },
  // Nearest first: the caller's zone, then its region, then other regions.
  // Endpoints without a zone are simply in no zone.
  locality: 'zone',
});

/** Answers DEFAULT_TRAFFIC for everything: for snapshots built without any TrafficPolicy (tests, benches). */
export const DEFAULT_TRAFFIC_TABLE: TrafficTable = Object.freeze({ settingsFor: () => DEFAULT_TRAFFIC, size: 0 });

/**
 * Pure. Policies are taken in (namespace, name) order and the first to select
 * a (service, port) governs it: the loader refuses overlapping policies, so
 * this only decides for a config that was never checked. A policy without
 * `ports` selects every port `services` lists for its Service.
 */
export function compileTrafficPolicies(policies: readonly TrafficPolicy[], services: readonly TrafficService[]): TrafficTable {
  const portsOf = new Map<string, readonly number[]>();
  for (const s of services) portsOf.set(`${s.namespace}/${s.name}`, s.ports.map((p) => p.port));
  const table = new Map<string, TrafficSettings>();
  const ordered = [...policies].sort((a, b) => compareRef(refOf(a), refOf(b)));
  for (const p of ordered) {
    const ns = p.metadata.namespace;
    const settings = compileOne(p);
    for (const port of p.spec.ports ?? portsOf.get(`${ns}/${p.spec.service}`) ?? []) {
      const key = tableKey(ns, p.spec.service, port);
      if (!table.has(key)) table.set(key, settings);
    }
  }
  return Object.freeze({
    settingsFor: (namespace: string, service: string, port: number) => table.get(tableKey(namespace, service, port)) ?? DEFAULT_TRAFFIC,
    size: table.size,
  });
}

function compileOne(p: TrafficPolicy): TrafficSettings {
  const { timeouts, retries, outlierDetection: o, circuitBreaker: b, loadBalancer } = p.spec;
  const ms = (d: string | undefined): number => (d === undefined ? 0 : parseDuration(d));
  return deepFreeze({
    connectTimeoutMs: ms(timeouts.connect),
    requestTimeoutMs: ms(timeouts.request),
    idleTimeoutMs: ms(timeouts.idle),
    retry: {
      attempts: retries.attempts,
      perTryTimeoutMs: ms(retries.perTryTimeout),
      retryOn: new Set<RetryOn>(retries.retryOn),
      isRetryable: retryableMatcher(retries.retryableRoutes ?? []),
      backoff: { baseMs: ms(retries.backoff.base), maxMs: ms(retries.backoff.max) },
      budget: { ratio: retries.budget.ratio, minPerSecond: retries.budget.minPerSecond, windowMs: DEFAULT_TRAFFIC.retry.budget.windowMs },
    },
    outlier: {
      consecutiveFailures: o.consecutiveFailures,
      baseEjectionMs: ms(o.baseEjection),
      maxEjectionMs: ms(o.maxEjection),
      maxEjectedPercent: o.maxEjectedPercent,
    },
    breaker: { maxRequests: b.maxRequests, maxPending: b.maxPending },
    locality: loadBalancer.locality,
    policy: refOf(p),
  });
}

interface CompiledRoute {
  /** undefined: any method. */
  readonly methods: ReadonlySet<string> | undefined;
  /** undefined: any path. */
  readonly paths: PatternSet | undefined;
}

type RetryableRoute = NonNullable<TrafficPolicy['spec']['retries']['retryableRoutes']>[number];

function retryableMatcher(routes: readonly RetryableRoute[]): RetrySettings['isRetryable'] {
  if (routes.length === 0) return idempotentOnly;
  const compiled: CompiledRoute[] = routes.map((r) => ({
    methods: r.methods ? new Set(r.methods) : undefined,
    paths: r.paths ? compilePatternSet(r.paths.map(patternOf)) : undefined,
  }));
  return (method, path) => {
    const m = method.toUpperCase();
    if (IDEMPOTENT_METHODS.has(m)) return true;
    // The same normalization authorization applies, so "/orders/7/../7/retry" is not a way around a route; unparseable: not retried.
    const normalized = normalizeRequestPath(path);
    if (!normalized.ok) return false;
    return compiled.some((r) => (r.methods === undefined || r.methods.has(m)) && (r.paths === undefined || matchesPatternSet(r.paths, normalized.path)));
  };
}

/** The schema accepted only parseable patterns. */
function patternOf(text: string): StringPattern {
  return parseStringPattern(text) ?? { kind: 'exact', value: text };
}

const refOf = (p: TrafficPolicy): string => `${p.metadata.namespace}/${p.metadata.name}`;
const compareRef = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const tableKey = (namespace: string, service: string, port: number): string => `${namespace}/${service}:${port}`;

/** Objects and arrays frozen all the way down; Sets are exposed as ReadonlySet only. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Set)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
