// The golden signals of every call the agent carries: requests (rate and
// errors by verdict and response code), latency histograms in seconds and
// bytes, by source and destination service, region and zone. Recorded from
// the flow record at the end of each stream or request, with the label
// children cached so the hot path does one map lookup per metric.
//
// Both agents of a call record it, each with `reporter`: "source" (the
// caller's agent) or "destination" (the callee's), as Istio does; a rate
// summed over both counts each call twice, so queries pick one reporter.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { FlowRecord } from './flow-record.js';
import type { SpiffeId } from '../../../identity/spiffe-id.js';

/** Label sets kept per metric; beyond, new ones are folded into "_overflow" (a rogue peer minting identities cannot grow /metrics without bound). */
export const MAX_LABEL_SETS = 2000;

/** Seconds. From a millisecond local call to a 30 s cross-region upload. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const CALL_LABELS = ['reporter', 'protocol', 'source_service', 'source_region', 'destination_service', 'destination_region', 'destination_zone'] as const;
type CallLabel = (typeof CALL_LABELS)[number];
type RequestLabel = CallLabel | 'verdict' | 'response_code';
type DurationLabel = CallLabel | 'verdict';

const OVERFLOW = '_overflow';

interface Children {
  readonly requests: { inc(n?: number): void };
  readonly duration: { observe(v: number): void };
  readonly requestBytes: { inc(n: number): void };
  readonly responseBytes: { inc(n: number): void };
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export interface GoldenMetrics {
  record(r: FlowRecord): void;
}

const ACCOUNT = /^\/ns\/([^/]+)\/sa\/([^/]+)$/;
const serviceNames = new Map<string, string>();

/** "namespace/serviceaccount" of a SPIFFE ID: the caller's identity, authenticated by its certificate. */
export function serviceOfIdentity(id: SpiffeId | undefined): string {
  if (id === undefined) return 'unknown';
  const key = id.toString();
  let name = serviceNames.get(key);
  if (name === undefined) {
    const m = ACCOUNT.exec(id.path);
    name = m ? `${m[1]}/${m[2]}` : id.path;
    if (serviceNames.size >= MAX_LABEL_SETS) serviceNames.clear();
    serviceNames.set(key, name);
  }
  return name;
}

export function createGoldenMetrics(registry: Registry): GoldenMetrics {
  const requests = reuse(
    registry,
    'entente_requests_total',
    () =>
      new Counter<RequestLabel>({
        name: 'entente_requests_total',
        help: 'Calls carried: HTTP requests (protocol http) and TCP streams (protocol tcp), by source and destination, verdict and response code (HTTP status, or the mesh CONNECT status for TCP; 0 when refused before any)',
        labelNames: [...CALL_LABELS, 'verdict', 'response_code'],
        registers: [registry],
      }),
  );
  const duration = reuse(
    registry,
    'entente_request_duration_seconds',
    () =>
      new Histogram<DurationLabel>({
        name: 'entente_request_duration_seconds',
        help: 'Duration of calls: an HTTP request until its response ends, a TCP stream until it closes',
        labelNames: [...CALL_LABELS, 'verdict'],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  const requestBytes = reuse(
    registry,
    'entente_request_bytes_total',
    () => new Counter<CallLabel>({ name: 'entente_request_bytes_total', help: 'Application bytes from source to destination', labelNames: [...CALL_LABELS], registers: [registry] }),
  );
  const responseBytes = reuse(
    registry,
    'entente_response_bytes_total',
    () => new Counter<CallLabel>({ name: 'entente_response_bytes_total', help: 'Application bytes from destination back to source', labelNames: [...CALL_LABELS], registers: [registry] }),
  );
  const overflow = reuse(
    registry,
    'entente_metric_label_sets_overflow_total',
    () => new Counter({ name: 'entente_metric_label_sets_overflow_total', help: `Calls recorded under "${OVERFLOW}" services because the golden metrics already held ${MAX_LABEL_SETS} label sets`, registers: [registry] }),
  );
  const cache = new Map<string, Children>();

  const childrenOf = (r: FlowRecord): Children => {
    const reporter = r.direction === 'outbound' ? 'source' : 'destination';
    const protocol = r.method !== undefined ? 'http' : 'tcp';
    const srcRegion = r.sourceRegion ?? 'unknown';
    const dstRegion = r.destinationRegion ?? 'unknown';
    const zone = r.destinationZone ?? '';
    const code = String(r.status ?? 0);
    const keyOf = (src: string, dst: string): string => `${reporter}|${protocol}|${src}|${srcRegion}|${dst}|${dstRegion}|${zone}|${r.verdict}|${code}`;
    let src = serviceOfIdentity(r.source);
    let dst = r.service ?? 'unknown';
    let key = keyOf(src, dst);
    let c = cache.get(key);
    if (c !== undefined) return c;
    if (cache.size >= MAX_LABEL_SETS) {
      // Every call that would need a new label set is counted and folded; the folded sets are few (regions, verdicts, codes).
      overflow.inc();
      src = OVERFLOW;
      dst = OVERFLOW;
      key = keyOf(src, dst);
      c = cache.get(key);
      if (c !== undefined) return c;
    }
    const call = { reporter, protocol, source_service: src, source_region: srcRegion, destination_service: dst, destination_region: dstRegion, destination_zone: zone };
    c = {
      requests: requests.labels({ ...call, verdict: r.verdict, response_code: code }),
      duration: duration.labels({ ...call, verdict: r.verdict }),
      requestBytes: requestBytes.labels(call),
      responseBytes: responseBytes.labels(call),
    };
    // A series for each byte counter from the first call, 0 for a body-less GET, so rates and dashboards see it.
    c.requestBytes.inc(0);
    c.responseBytes.inc(0);
    cache.set(key, c);
    return c;
  };

  return {
    record(r) {
      const c = childrenOf(r);
      c.requests.inc();
      c.duration.observe(r.durationMs / 1000);
      if (r.bytesOut > 0) c.requestBytes.inc(r.bytesOut);
      if (r.bytesIn > 0) c.responseBytes.inc(r.bytesIn);
    },
  };
}
