// The balancer seam (grpc-js style): owns the endpoint loads and the outlier
// detector of one destination and publishes a new immutable picker through its
// helper whenever the endpoints, the ejected set or the RTT order change.
// No I/O and no timers: the owner calls tick() at nextTick() (or any report does).
import { DEFAULT_LOAD, EndpointLoad, type LoadHandle, type LoadOptions } from './endpoint-load.js';
import { DEFAULT_OUTLIER, OutlierDetector, type CallResult, type OutlierOptions } from './outlier-detector.js';
import { buildPicker, pathKey, rankPaths, type BalancedEndpoint, type Picker } from './picker.js';

/** What the balancer needs of its owner; a fake one records pickers in tests. */
export interface BalancerHelper<E extends BalancedEndpoint> {
  /** Receives each new picker; the owner swaps it in for the next picks. */
  updatePicker(picker: Picker<E>): void;
  now(): number;
  /** Measured RTT to a region, ms, or undefined when unknown. */
  rttMs(region: string): number | undefined;
  /** Regions to rank after every other (stale state); default none. */
  demoted?(region: string): boolean;
  /** A remote path's class (picker.ts PathClass); default from demoted() and the path being relayed. */
  pathClass?(region: string, via: string | undefined): number;
  /** Slow start share of a remote path, 0..1 (default 1). */
  share?(region: string, via: string | undefined): number;
}

export interface BalancerOptions {
  /** Where the caller runs (locality levels). */
  readonly region: string;
  readonly zone?: string;
  readonly outlier?: OutlierOptions;
  readonly load?: LoadOptions;
  /** Told each time an endpoint is ejected (for a counter). */
  readonly onEjection?: (key: string) => void;
}

/** One call on an endpoint: end() records latency and result once. */
export interface CallHandle {
  end(result: CallResult): void;
}

const NOOP_CALL: CallHandle = { end: () => {} };

export class Balancer<E extends BalancedEndpoint> {
  private readonly detector: OutlierDetector;
  private readonly loadOptions: LoadOptions;
  private readonly loads = new Map<string, EndpointLoad>();
  private endpoints: readonly E[] = [];
  /** Regions in the order the current picker ranks them: rttChanged() rebuilds only if it moved. */
  private regionOrder = '';
  /** The current picker is stale from this time on (an ejection ends). */
  private validUntil: number | undefined;

  constructor(private readonly helper: BalancerHelper<E>, private readonly options: BalancerOptions) {
    this.detector = new OutlierDetector(options.outlier ?? DEFAULT_OUTLIER);
    this.loadOptions = options.load ?? DEFAULT_LOAD;
    // Publish at once, so the owner always has a picker (one that says there is no endpoint yet).
    this.publish();
  }

  /** A new endpoint set: loads and ejections of endpoints that stay are kept. */
  setEndpoints(endpoints: readonly E[]): void {
    const now = this.helper.now();
    const keys = new Set(endpoints.map((e) => e.key));
    for (const key of this.loads.keys()) if (!keys.has(key)) this.loads.delete(key);
    const seed = this.seedMs(now);
    for (const key of keys) if (!this.loads.has(key)) this.loads.set(key, new EndpointLoad(this.loadOptions, now, seed));
    this.detector.setEndpoints(keys);
    this.endpoints = [...endpoints];
    this.publish();
  }

  /**
   * Starts a call on a picked endpoint: counts it in flight; end() records its
   * latency and reports its result. An endpoint removed meanwhile gets a no-op.
   */
  start(key: string): CallHandle {
    const load = this.loads.get(key);
    if (!load) return NOOP_CALL;
    const handle: LoadHandle = load.start(this.helper.now());
    let ended = false;
    return {
      end: (result) => {
        if (ended) return;
        ended = true;
        handle.end(this.helper.now(), result === 'ok');
        this.report(key, result);
      },
    };
  }

  /** Records a call's result for outlier detection (latency goes through the load handle). */
  report(key: string, result: CallResult): void {
    const now = this.helper.now();
    const changed = this.detector.report(key, result, now).changed;
    if (changed && this.detector.isEjected(key, now)) this.options.onEjection?.(key);
    if (changed || this.stale(now)) this.publish();
  }

  /** The RTT estimates moved: a new picker only if the order of regions changed. */
  rttChanged(): void {
    if (this.rankRegions() !== this.regionOrder) this.publish();
  }

  /** Publishes a new picker if an ejection has ended; the owner calls it at nextTick(). */
  tick(): void {
    if (this.stale(this.helper.now())) this.publish();
  }

  /** When the next ejection ends (call tick() then), or undefined. */
  nextTick(): number | undefined {
    return this.validUntil;
  }

  /**
   * What the current picker does, for operators (the agent's /balancers):
   * each level in pick order with its endpoints, their load and whether
   * outlier detection holds them out, and the slow start share of its path.
   */
  describe(picker: Picker<E>): BalancerView {
    const now = this.helper.now();
    const levels = picker.order().map((endpoints, level) => {
      const first = endpoints[0];
      const path = first === undefined || level < 2 ? undefined : pathKey(first.region, first.via);
      return {
        level,
        ...(path !== undefined ? { path, rttMs: roundMs(this.helper.rttMs(path)), share: this.helper.share?.(first!.region, first!.via) ?? 1 } : {}),
        endpoints: endpoints.map((e) => ({ key: e.key, region: e.region, ...(e.via !== undefined ? { via: e.via } : {}), latencyMs: roundMs(this.loads.get(e.key)?.latencyMs(now)), inFlight: this.loads.get(e.key)?.inFlight ?? 0 })),
      };
    });
    const ejected = this.endpoints.filter((e) => this.detector.isEjected(e.key, now)).map((e) => ({ key: e.key, region: e.region, forMs: Math.round((this.detector.ejectedUntil(e.key) ?? now) - now) }));
    return { levels: levels.filter((l) => l.endpoints.length > 0), ejected };
  }

  /** Live load of an endpoint, for diagnostics. */
  load(key: string): EndpointLoad | undefined {
    return this.loads.get(key);
  }

  private stale(now: number): boolean {
    return this.validUntil !== undefined && now >= this.validUntil;
  }

  private publish(): void {
    const now = this.helper.now();
    const { region, zone } = this.options;
    const loads = this.loads;
    const picker = buildPicker(this.endpoints, {
      region,
      ...(zone !== undefined ? { zone } : {}),
      rttMs: (r) => this.helper.rttMs(r),
      demoted: (r) => this.helper.demoted?.(r) ?? false,
      ...(this.helper.pathClass ? { pathClass: (r: string, via: string | undefined) => this.helper.pathClass!(r, via) } : {}),
      ...(this.helper.share ? { share: (r: string, via: string | undefined) => this.helper.share!(r, via) } : {}),
      ejected: (key) => this.detector.isEjected(key, now),
      // An endpoint a later set removed reads as fully loaded, so a picker
      // still in use until the owner swaps it avoids it.
      loads: (key) => loads.get(key) ?? GONE,
      now: () => this.helper.now(),
    });
    this.regionOrder = this.rankRegions();
    this.validUntil = this.detector.nextExpiry(now);
    this.helper.updatePicker(picker);
  }

  /** Remote paths in the picker's order with their slow start shares (to a tenth), as a string to compare. */
  private rankRegions(): string {
    const remote = new Map<string, { region: string; via: string | undefined }>();
    for (const e of this.endpoints) if (e.region !== this.options.region) remote.set(pathKey(e.region, e.via), { region: e.region, via: e.via });
    const ranked = rankPaths([...remote.values()], {
      rttMs: (k) => this.helper.rttMs(k),
      demoted: (r) => this.helper.demoted?.(r) ?? false,
      ...(this.helper.pathClass ? { pathClass: (r: string, via: string | undefined) => this.helper.pathClass!(r, via) } : {}),
    });
    return JSON.stringify(ranked.map((p) => `${pathKey(p.region, p.via)}@${Math.round((this.helper.share?.(p.region, p.via) ?? 1) * 10)}`));
  }

  /**
   * The estimate a joining endpoint starts with: the median of the sampled
   * ones, so it gets about its share at once (a low guess would flood it
   * before its first answer, a high one starve it); load.defaultLatencyMs when
   * none is sampled.
   */
  private seedMs(now: number): number {
    const sampled = [...this.loads.values()].filter((l) => l.hasSamples).map((l) => l.latencyMs(now));
    if (sampled.length === 0) return this.loadOptions.defaultLatencyMs;
    sampled.sort((a, b) => a - b);
    const mid = sampled.length >> 1;
    return sampled.length % 2 === 1 ? sampled[mid]! : (sampled[mid - 1]! + sampled[mid]!) / 2;
  }
}

const GONE = { cost: () => Infinity };

function roundMs(ms: number | undefined): number | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : Math.round(ms * 10) / 10;
}

/** Balancer.describe(): the pick order of one destination, for diagnostics. */
export interface BalancerView {
  readonly levels: readonly {
    readonly level: number;
    readonly path?: string;
    readonly rttMs?: number | undefined;
    readonly share?: number;
    readonly endpoints: readonly { key: string; region: string; via?: string; latencyMs: number | undefined; inFlight: number }[];
  }[];
  readonly ejected: readonly { key: string; region: string; forMs: number }[];
}
