// The golden signals of every call the agent carries: requests (rate and
// errors by verdict and response code), latency histograms in seconds and
// bytes, by source and destination service, region and zone. Recorded from
// the flow record at the end of each stream or request.
//
// Both agents of a call record it, each with `reporter`: "source" (the
// caller's agent) or "destination" (the callee's), as Istio does; a rate
// summed over both counts each call twice, so queries pick one reporter.
//
// The hot path does one map lookup and a few additions per call: the series
// are plain numbers kept here and turned into Prometheus samples only when
// /metrics is read. (prom-client's labelled children hash their label set
// again on every increment, which cost the L7 path a fifth of its
// throughput in the data plane benchmark.)
import type { Registry } from 'prom-client';
import type { FlowRecord } from './flow-record.js';
import type { SpiffeId } from '../../../identity/spiffe-id.js';
import { workloadAccount } from '../../../identity/workload-account.js';

/** Label sets kept per agent; beyond, new ones are folded into "_overflow" (a rogue peer minting identities cannot grow /metrics without bound). */
export const MAX_LABEL_SETS = 2000;

/** Seconds. From a millisecond local call to a 30 s cross-region upload. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const OVERFLOW = '_overflow';

type Labels = Record<string, string>;

interface CallSeries {
  readonly labels: Labels;
  bytesOut: number;
  bytesIn: number;
}

interface DurationSeries {
  readonly labels: Labels;
  /** Per bucket (not cumulative), the last one for +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface RequestSeries {
  readonly labels: Labels;
  count: number;
  readonly duration: DurationSeries;
  readonly call: CallSeries;
}

interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** The series of one registry, shared by every data plane that records into it. */
class GoldenStore {
  readonly requests = new Map<string, RequestSeries>();
  readonly durations = new Map<string, DurationSeries>();
  readonly calls = new Map<string, CallSeries>();
  overflowed = 0;
}

const stores = new WeakMap<Registry, GoldenStore>();

export interface GoldenMetrics {
  record(r: FlowRecord): void;
}

// Keyed by the SpiffeId object: a session's caller and a workload's own ID are one object for every call they make.
const serviceNames = new WeakMap<SpiffeId, string>();

/** "namespace/serviceaccount" of a SPIFFE ID: the caller's identity, authenticated by its certificate. */
export function serviceOfIdentity(id: SpiffeId | undefined): string {
  if (id === undefined) return 'unknown';
  let name = serviceNames.get(id);
  if (name === undefined) {
    name = workloadAccount(id.path) ?? id.path;
    serviceNames.set(id, name);
  }
  return name;
}

/** A metric prom-client's registry can read: name, help, type and its samples, computed at scrape. */
function collector(name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => undefined,
  };
}

function register(registry: Registry, store: GoldenStore): void {
  const add = (m: ReturnType<typeof collector>): void => registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
  add(
    collector(
      'entente_requests_total',
      'Calls carried: HTTP requests (protocol http) and TCP streams (protocol tcp), by source and destination, verdict and response code (HTTP status, or the mesh CONNECT status for TCP; 0 when refused before any)',
      'counter',
      () => [...store.requests.values()].map((s) => ({ value: s.count, labels: s.labels })),
    ),
  );
  add(
    collector('entente_request_duration_seconds', 'Duration of calls: an HTTP request until its response ends, a TCP stream until it closes', 'histogram', () => {
      const out: Sample[] = [];
      for (const s of store.durations.values()) {
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.counts[i]!;
          out.push({ metricName: 'entente_request_duration_seconds_bucket', labels: { ...s.labels, le: String(le) }, value: cumulative });
        });
        out.push({ metricName: 'entente_request_duration_seconds_bucket', labels: { ...s.labels, le: '+Inf' }, value: s.count });
        out.push({ metricName: 'entente_request_duration_seconds_sum', labels: s.labels, value: s.sum });
        out.push({ metricName: 'entente_request_duration_seconds_count', labels: s.labels, value: s.count });
      }
      return out;
    }),
  );
  add(collector('entente_request_bytes_total', 'Application bytes from source to destination', 'counter', () => [...store.calls.values()].map((s) => ({ value: s.bytesOut, labels: s.labels }))));
  add(collector('entente_response_bytes_total', 'Application bytes from destination back to source', 'counter', () => [...store.calls.values()].map((s) => ({ value: s.bytesIn, labels: s.labels }))));
  add(
    collector('entente_metric_label_sets_overflow_total', `Calls recorded under "${OVERFLOW}" services because the golden metrics already held ${MAX_LABEL_SETS} label sets`, 'counter', () => [
      { value: store.overflowed, labels: {} },
    ]),
  );
}

function bucketOf(seconds: number): number {
  for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) return i;
  return DURATION_BUCKETS.length;
}

export function createGoldenMetrics(registry: Registry): GoldenMetrics {
  let store = stores.get(registry);
  if (!store) {
    store = new GoldenStore();
    stores.set(registry, store);
    register(registry, store);
  }
  const s = store;

  const seriesOf = (r: FlowRecord): RequestSeries => {
    const reporter = r.direction === 'outbound' ? 'source' : 'destination';
    const protocol = r.method !== undefined ? 'http' : 'tcp';
    const srcRegion = r.sourceRegion ?? 'unknown';
    const dstRegion = r.destinationRegion ?? 'unknown';
    const zone = r.destinationZone ?? '';
    const code = String(r.status ?? 0);
    let src = serviceOfIdentity(r.source);
    let dst = r.service ?? 'unknown';
    let callKey = `${reporter}|${protocol}|${src}|${srcRegion}|${dst}|${dstRegion}|${zone}`;
    let key = `${callKey}|${r.verdict}|${code}`;
    const known = s.requests.get(key);
    if (known !== undefined) return known;
    if (s.requests.size >= MAX_LABEL_SETS) {
      // Every call that would need a new label set is counted and folded; the folded sets are few (regions, verdicts, codes).
      s.overflowed++;
      src = OVERFLOW;
      dst = OVERFLOW;
      callKey = `${reporter}|${protocol}|${src}|${srcRegion}|${dst}|${dstRegion}|${zone}`;
      key = `${callKey}|${r.verdict}|${code}`;
      const folded = s.requests.get(key);
      if (folded !== undefined) return folded;
    }
    const callLabels: Labels = { reporter, protocol, source_service: src, source_region: srcRegion, destination_service: dst, destination_region: dstRegion, destination_zone: zone };
    let call = s.calls.get(callKey);
    if (!call) {
      // A series for each byte counter from the first call, 0 for a body-less GET, so rates and dashboards see it.
      call = { labels: callLabels, bytesOut: 0, bytesIn: 0 };
      s.calls.set(callKey, call);
    }
    const durationKey = `${callKey}|${r.verdict}`;
    let duration = s.durations.get(durationKey);
    if (!duration) {
      duration = { labels: { ...callLabels, verdict: r.verdict }, counts: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      s.durations.set(durationKey, duration);
    }
    const series: RequestSeries = { labels: { ...callLabels, verdict: r.verdict, response_code: code }, count: 0, duration, call };
    s.requests.set(key, series);
    return series;
  };

  return {
    record(r) {
      const series = seriesOf(r);
      series.count++;
      const seconds = r.durationMs / 1000;
      const d = series.duration;
      d.counts[bucketOf(seconds)]!++;
      d.sum += seconds;
      d.count++;
      series.call.bytesOut += r.bytesOut;
      series.call.bytesIn += r.bytesIn;
    },
  };
}
