// The immutable picker (grpc-js style): locality levels computed once when it
// is built, then power of two choices over live load within the first level
// that has a usable endpoint. The balancer builds a new one when the set, the
// ejections or the RTT order change; counters move without a rebuild.

/** What balancing needs of an endpoint; the caller's endpoint type extends it. */
export interface BalancedEndpoint {
  /** Stable identity of the endpoint across snapshots (loads and ejections are kept by it). */
  readonly key: string;
  readonly region: string;
  readonly zone?: string;
  /** Relative share of picks on equal load; 0 (or not finite) drains the endpoint. */
  readonly weight: number;
  /** Reached through this third region's gateway (relay) rather than directly. */
  readonly via?: string;
}

/**
 * How a remote path ranks, before RTT (lower first): a reachable direct path,
 * then a relayed one, then one to a region whose state is stale, then a
 * direct path the region's gateways find unreachable (kept as the last resort:
 * probes can be wrong, and nothing else may be left).
 */
export const PathClass = { direct: 0, relayed: 1, stale: 2, unreachable: 3 } as const;

/** The group key of a remote path: "region" for direct, "region>via" for relayed (also the key its RTT is measured under). */
export function pathKey(region: string, via?: string): string {
  return via === undefined ? region : `${region}>${via}`;
}

/** The part of an endpoint's load the picker reads (EndpointLoad). */
export interface LoadView {
  cost(now: number): number;
}

export interface PickerContext {
  /** Where the caller runs: same zone is level 0, same region level 1. */
  readonly region: string;
  readonly zone?: string;
  /** Measured RTT to a region, ms, or undefined when unknown. Read at build only. */
  rttMs(region: string): number | undefined;
  /** Regions ranked after every other whatever their RTT (their state is stale). Read at build only; default none. */
  demoted?(region: string): boolean;
  /** The class of a remote path (PathClass); default: direct, or stale when demoted. Read at build only. */
  pathClass?(region: string, via: string | undefined): number;
  /**
   * Slow start: the share of picks a path's level takes (0..1] while the
   * path comes back; the rest go on to the next level that has endpoints.
   * Read at build only; default 1.
   */
  share?(region: string, via: string | undefined): number;
  /** Read at build only: ejected endpoints are left out of every level. */
  ejected(key: string): boolean;
  /** Read at every pick: the live load of an endpoint of this picker. */
  loads(key: string): LoadView;
  now(): number;
}

export type PickResult<E> =
  | { kind: 'pick'; endpoint: E; level: number }
  | { kind: 'none'; code: 'no_endpoint'; reason: string };

export interface PickRequest {
  /** Keys already tried by this call: a retry goes elsewhere, to the next level if need be. */
  readonly exclude?: ReadonlySet<string>;
  /** Uniform in [0, 1), injected so picks are reproducible in tests. */
  readonly random: () => number;
}

export interface Picker<E extends BalancedEndpoint> {
  pick(req: PickRequest): PickResult<E>;
  /**
   * Usable endpoints by level, for diagnostics: [0] same zone, [1] same region
   * (other zones), [2..] other regions by RTT ascending, unknown RTT last, ties
   * by region name. Levels 0 and 1 are always present (maybe empty), so a
   * pick's `level` always means the same thing.
   */
  order(): readonly (readonly E[])[];
}

/** One level: endpoints with prefix sums of their weights, for O(log n) weighted draws. */
interface Level<E> {
  readonly endpoints: readonly E[];
  /** cumulative[i] = sum of weights of endpoints[0..i]. */
  readonly cumulative: readonly number[];
  /** Share of picks this level takes when a later level could serve (slow start); 1 normally. */
  readonly share: number;
}

export function buildPicker<E extends BalancedEndpoint>(endpoints: readonly E[], ctx: PickerContext): Picker<E> {
  let ejected = 0;
  let drained = 0;
  const usable: E[] = [];
  for (const e of endpoints) {
    if (!(e.weight > 0 && Number.isFinite(e.weight))) drained += 1;
    else if (ctx.ejected(e.key)) ejected += 1;
    else usable.push(e);
  }
  const levels = localityLevels(usable, ctx).map((l) => toLevel(l.endpoints, l.share));
  const why = `${endpoints.length} endpoint(s), ${ejected} ejected as outliers, ${drained} with weight 0`;

  return {
    order: () => levels.map((l) => l.endpoints),
    pick: ({ exclude, random }) => {
      let fallback: { level: Level<E>; index: number } | undefined;
      for (let i = 0; i < levels.length; i++) {
        const level = exclude && exclude.size > 0 ? without(levels[i]!, exclude) : levels[i]!;
        if (level.endpoints.length === 0) continue;
        // A level in slow start takes its share; the rest go on, and come back here if nothing later can serve.
        if (level.share < 1 && random() >= level.share) {
          fallback ??= { level, index: i };
          continue;
        }
        return { kind: 'pick', endpoint: p2c(level, ctx, random), level: i };
      }
      if (fallback) return { kind: 'pick', endpoint: p2c(fallback.level, ctx, random), level: fallback.index };
      const tried = exclude && exclude.size > 0 ? `, ${exclude.size} already tried by this call` : '';
      return { kind: 'none', code: 'no_endpoint', reason: `no usable endpoint: ${why}${tried}` };
    },
  };
}

function localityLevels<E extends BalancedEndpoint>(usable: readonly E[], ctx: PickerContext): { endpoints: E[]; share: number }[] {
  const zone: E[] = [];
  const region: E[] = [];
  const remote = new Map<string, { region: string; via: string | undefined; endpoints: E[] }>();
  for (const e of usable) {
    if (e.region === ctx.region) {
      (ctx.zone !== undefined && e.zone === ctx.zone ? zone : region).push(e);
    } else {
      const key = pathKey(e.region, e.via);
      let g = remote.get(key);
      if (!g) remote.set(key, (g = { region: e.region, via: e.via, endpoints: [] }));
      g.endpoints.push(e);
    }
  }
  const ranked = rankPaths([...remote.values()], ctx);
  return [
    { endpoints: zone, share: 1 },
    { endpoints: region, share: 1 },
    ...ranked.map((p) => ({ endpoints: remote.get(pathKey(p.region, p.via))!.endpoints, share: clampShare(ctx.share?.(p.region, p.via)) })),
  ];
}

function clampShare(s: number | undefined): number {
  return s === undefined || !Number.isFinite(s) ? 1 : Math.min(1, Math.max(0.01, s));
}

export interface RemotePath {
  readonly region: string;
  readonly via?: string | undefined;
}

/**
 * Remote paths by class (PathClass), then RTT ascending (a relayed path's RTT
 * is measured under its pathKey), unknown RTT after known ones, ties by key
 * (deterministic).
 */
export function rankPaths<P extends RemotePath>(paths: readonly P[], ctx: Pick<PickerContext, 'rttMs' | 'demoted' | 'pathClass'>): P[] {
  const classOf = (p: P): number => ctx.pathClass?.(p.region, p.via) ?? (ctx.demoted?.(p.region) ? PathClass.stale : p.via === undefined ? PathClass.direct : PathClass.relayed);
  return paths
    .map((p) => ({ p, key: pathKey(p.region, p.via), cls: classOf(p), rtt: ctx.rttMs(pathKey(p.region, p.via)) }))
    .sort((a, b) => a.cls - b.cls || compareRtt(a.rtt, b.rtt) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.p);
}

/**
 * Regions by RTT ascending, unknown RTT after known ones, ties by name
 * (deterministic); demoted regions (stale state) after every other, in the same order among themselves.
 */
export function rankRegions(regions: Iterable<string>, rttMs: (region: string) => number | undefined, demoted: (region: string) => boolean = () => false): string[] {
  return rankPaths([...regions].map((region) => ({ region })), { rttMs, demoted }).map((p) => p.region);
}

/** Known RTTs ascending, then unknown ones (NaN and negatives count as unknown). */
function compareRtt(a: number | undefined, b: number | undefined): number {
  const ka = a !== undefined && a >= 0;
  const kb = b !== undefined && b >= 0;
  if (ka && kb) return a - b;
  return ka === kb ? 0 : ka ? -1 : 1;
}

function toLevel<E extends BalancedEndpoint>(endpoints: readonly E[], share = 1): Level<E> {
  const cumulative: number[] = [];
  let sum = 0;
  for (const e of endpoints) cumulative.push((sum += e.weight));
  return { endpoints, cumulative, share };
}

function without<E extends BalancedEndpoint>(level: Level<E>, exclude: ReadonlySet<string>): Level<E> {
  if (!level.endpoints.some((e) => exclude.has(e.key))) return level;
  return toLevel(level.endpoints.filter((e) => !exclude.has(e.key)), level.share);
}

/**
 * Power of two choices: two distinct endpoints drawn at random by weight, the
 * cheaper one wins. On equal cost the first drawn wins, so on equal load the
 * shares follow the weights (with two endpoints both are always drawn, and only
 * the draw order can carry the weights).
 */
function p2c<E extends BalancedEndpoint>(level: Level<E>, ctx: PickerContext, random: () => number): E {
  const n = level.endpoints.length;
  if (n === 1) return level.endpoints[0]!;
  const total = level.cumulative[n - 1]!;
  const a = indexAt(level.cumulative, random() * total);
  // Draw the second from the others: map a point of [0, total - w(a)) over the
  // line with a's segment cut out.
  const start = a === 0 ? 0 : level.cumulative[a - 1]!;
  const wa = level.cumulative[a]! - start;
  let x = random() * (total - wa);
  if (x >= start) x += wa;
  let b = indexAt(level.cumulative, x);
  if (b === a) b = (a + 1) % n; // only by float rounding at a segment edge
  const now = ctx.now();
  const ea = level.endpoints[a]!;
  const eb = level.endpoints[b]!;
  return ctx.loads(eb.key).cost(now) < ctx.loads(ea.key).cost(now) ? eb : ea;
}

/** The first index whose cumulative weight exceeds x (x in [0, total)). */
function indexAt(cumulative: readonly number[], x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
