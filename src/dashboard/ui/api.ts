// What the dashboard reads from its controller's admin API, and how. The
// shapes are the parts of GET /v1/status, /v1/drift, /v1/flows and
// /v1/servicemap the views use (docs/observability.md describes them).

export interface PeerView {
  region: string;
  reachable: boolean;
  relayOnly?: boolean;
  lastError?: string;
  lastSuccessAt?: string;
  stale?: boolean;
  expired?: boolean;
  ageMs?: number;
  link?: { reachable: boolean; rttMs?: number; loss?: number };
  relays?: { via: string }[];
  exportedServices?: string[];
}

export interface ExpiryView {
  kind: 'ca' | 'serving' | 'bundle';
  subject: string;
  notAfter: string;
  expiresInMs: number;
  lifetimeMs?: number;
}

export interface StatusView {
  region: string;
  version?: string;
  configVersion?: number;
  health?: { healthy: boolean; gateways?: { healthy: number; total: number }; exportedServices?: { healthy: number; total: number } };
  policy?: { ok?: boolean; source?: string; summary?: string; generation?: number };
  nodes?: { node: string; kind: string; connected?: boolean }[];
  peers?: PeerView[];
  expiry?: ExpiryView[];
  /** Data services (DataRoutes) and where this region's reads and writes go. */
  data?: DataRouteStatus[];
}

export interface DataRouteStatus {
  route: string;
  maxLagMs: number;
  primary?: string;
  members: { member: string; region?: string; role: 'primary' | 'replica' | 'unreachable' | 'unknown'; position?: string; lagSeconds?: number | null; withinBound: boolean; paused?: boolean; error?: { code: string; message: string } }[];
  reads: { order: string[]; why: string };
  writes: { order: string[]; why: string };
}

export interface DriftView {
  drift?: boolean;
  differing?: { resource?: string; regions?: Record<string, string | null> }[];
  unknown?: string[];
}

export interface FlowView {
  time: number;
  direction: 'inbound' | 'outbound';
  source?: string;
  sourceAddress?: string;
  destination?: string;
  service?: string;
  port?: number;
  sourceRegion?: string;
  destinationRegion?: string;
  regionPath?: string;
  verdict: 'allow' | 'deny' | 'error';
  policy?: string;
  rule?: number;
  reason?: string;
  method?: string;
  path?: string;
  status?: number;
  durationMs: number;
  region: string;
  node: string;
}

export interface FlowsView {
  flows: FlowView[];
  regions: { region: string; ok: boolean; error?: string }[];
}

export interface EdgeView {
  source: string;
  sourceRegion: string;
  destination: string;
  destinationRegion: string;
  requests: number;
  rate: number;
  errors: number;
  denied: number;
  errorRatio: number;
  p50Ms: number;
  p99Ms: number;
  slo: { availability: number; latencyP99Ms: number; availabilityMet: boolean; latencyMet: boolean };
}

export interface ServiceMapView {
  region: string;
  windowMs: number;
  flows: number;
  services: { name: string; region: string }[];
  edges: EdgeView[];
  regions: { region: string; ok: boolean; error?: string }[];
}

export interface FlowFilters {
  from: string;
  to: string;
  verdict: '' | 'allow' | 'deny' | 'error';
  region: string;
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { message?: string }; message?: string };
      message = body.error?.message ?? body.message ?? message;
    } catch {
      /* not JSON: keep the status */
    }
    throw new Error(message);
  }
  return (await res.json()) as T;
}

export function flowsPath(f: FlowFilters, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (f.from.trim()) q.set('from', f.from.trim());
  if (f.to.trim()) q.set('to', f.to.trim());
  if (f.verdict) q.set('verdict', f.verdict);
  if (f.region) q.set('region', f.region);
  return `/v1/flows?${q}`;
}
