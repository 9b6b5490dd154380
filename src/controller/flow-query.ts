// The filters of GET /v1/flows (and of the peer API's flow route): parsed once
// from the query string, with an error naming the parameter, then applied to
// each stored flow.
import type { StoredFlow } from '../mesh/flow-wire.js';

export interface FlowFilter {
  /** Only flows that started after this time (epoch ms). */
  readonly since?: number;
  /** At most this many, the newest. */
  readonly limit: number;
  readonly from?: string;
  readonly to?: string;
  readonly service?: string;
  readonly region?: string;
  readonly verdict?: 'allow' | 'deny' | 'error';
  /** An exact status, or a class: 5 for "5xx". */
  readonly status?: { exact: number } | { class: number };
  /** This region's flows only (peers are not asked). */
  readonly local: boolean;
}

export const FLOW_LIMIT_DEFAULT = 500;
export const FLOW_LIMIT_MAX = 5000;
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?)?$/;

export class FlowQueryError extends Error {}

/** The filter a query string asks for; FlowQueryError names the bad parameter. */
export function parseFlowQuery(params: URLSearchParams): FlowFilter {
  const get = (k: string): string | undefined => params.get(k) ?? undefined;
  const bad = (k: string, v: string, expected: string): never => {
    throw new FlowQueryError(`query parameter ${k}: ${JSON.stringify(v.slice(0, 80))} is not ${expected}`);
  };
  const int = (k: string, lo: number, hi: number): number | undefined => {
    const v = get(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    return /^\d{1,16}$/.test(v) && n >= lo && n <= hi ? n : bad(k, v, `an integer from ${lo} to ${hi}`);
  };
  const name = (k: string): string | undefined => {
    const v = get(k);
    if (v === undefined) return undefined;
    return NAME.test(v) || (k === 'from' && /^spiffe:\/\/[^\s]{1,2040}$/.test(v)) ? v : bad(k, v, k === 'from' ? 'a SPIFFE ID, "namespace/name" or a name' : '"namespace/name" or a name');
  };
  const verdict = get('verdict');
  if (verdict !== undefined && verdict !== 'allow' && verdict !== 'deny' && verdict !== 'error') bad('verdict', verdict, 'allow, deny or error');
  const status = get('status');
  let statusFilter: FlowFilter['status'];
  if (status !== undefined) {
    if (/^[1-5]xx$/.test(status)) statusFilter = { class: Number(status[0]) };
    else if (/^\d{1,3}$/.test(status)) statusFilter = { exact: Number(status) };
    else bad('status', status, 'a status code such as 503 or a class such as 5xx');
  }
  const region = get('region');
  if (region !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(region)) bad('region', region, 'a region name');
  const local = get('local');
  if (local !== undefined && local !== '1' && local !== '0') bad('local', local, '1 or 0');
  const since = int('since', 0, Number.MAX_SAFE_INTEGER);
  const from = name('from');
  const to = name('to');
  const service = name('service');
  return {
    limit: int('limit', 1, FLOW_LIMIT_MAX) ?? FLOW_LIMIT_DEFAULT,
    ...(since !== undefined ? { since } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(verdict !== undefined ? { verdict: verdict as 'allow' | 'deny' | 'error' } : {}),
    ...(statusFilter !== undefined ? { status: statusFilter } : {}),
    local: local === '1',
  };
}

/** The query string that asks a peer for the same flows (its own region's only). */
export function flowQueryString(f: FlowFilter): string {
  const p = new URLSearchParams();
  if (f.since !== undefined) p.set('since', String(f.since));
  p.set('limit', String(f.limit));
  for (const k of ['from', 'to', 'service', 'region', 'verdict'] as const) if (f[k] !== undefined) p.set(k, f[k]);
  if (f.status) p.set('status', 'exact' in f.status ? String(f.status.exact) : `${f.status.class}xx`);
  return p.toString();
}

/** "ns/sa" of a workload SPIFFE ID (spiffe://td/ns/<ns>/sa/<sa>), else undefined. */
function identityName(id: string | undefined): string | undefined {
  const m = id === undefined ? null : /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** "ns/name" matches itself; a bare "name" matches the name part of "ns/name". */
function nameMatches(want: string, have: string | undefined): boolean {
  if (have === undefined) return false;
  return want.includes('/') ? have === want : have.slice(have.indexOf('/') + 1) === want;
}

export function flowMatches(f: StoredFlow, q: FlowFilter): boolean {
  if (q.since !== undefined && f.time <= q.since) return false;
  if (q.verdict !== undefined && f.verdict !== q.verdict) return false;
  if (q.status) {
    if (f.status === undefined) return false;
    if ('exact' in q.status ? f.status !== q.status.exact : Math.floor(f.status / 100) !== q.status.class) return false;
  }
  if (q.region !== undefined && f.region !== q.region && f.sourceRegion !== q.region && f.destinationRegion !== q.region) return false;
  if (q.from !== undefined && !(q.from.startsWith('spiffe://') ? f.source === q.from : nameMatches(q.from, identityName(f.source)))) return false;
  if (q.to !== undefined && !nameMatches(q.to, f.service)) return false;
  if (q.service !== undefined && !nameMatches(q.service, f.service) && !nameMatches(q.service, identityName(f.source))) return false;
  return true;
}
