// Outbound layer: HTTP data services (docs/data-routing.md). A request to a
// DataRoute's name is classified by its method, path and headers: a write goes
// to the primary; a read to the replicas within the bound, nearest first (else
// the primary); a read that presents a consistency token only to the replicas
// that had replayed at least its position (else the primary). A malformed
// token is refused, not ignored: the caller asked for read-your-writes and
// must not silently lose it. Calls to any other host pass through at the cost
// of one field read (the route layer sets it).
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { Endpoint, HttpDataRoute } from '../dataplane-snapshot.js';
import { fail } from '../outcome.js';
import { parseConsistencyToken } from '../../../data/consistency-token.js';

/** What a call was, as counted in entente_agent_data_calls_total{route,kind,to}. */
export type DataCallKind = 'write' | 'read' | 'token_read' | 'bad_token' | 'unclassified';

export type OnDataCall = (route: string, kind: DataCallKind, to: 'primary' | 'replica' | 'none') => void;

/** The token's replicas, nearest first, then the primary: the replicas' order is the controller's. */
function tokenEndpoints(d: HttpDataRoute, port: number, min: bigint): { endpoints: readonly Endpoint[]; all: boolean } {
  const out: Endpoint[] = [];
  let all = true;
  for (const r of d.replicas) {
    if (r.position !== undefined && r.position >= min) out.push(...(r.ports.get(port) ?? []));
    else all = false;
  }
  return { endpoints: out, all };
}

export function dataCallsLayer(onCall?: OnDataCall): Layer<OutboundCall> {
  return (next) => (call) => {
    // Set by the route layer, only on an HTTP data service's name.
    const d = call.data;
    if (!d) return next(call);
    const primary = d.primary.get(call.port) ?? [];
    const toPrimary = (kind: DataCallKind): ReturnType<typeof next> => {
      onCall?.(d.route, kind, primary.length > 0 ? 'primary' : 'none');
      if (primary.length === 0) return Promise.resolve(fail('no_endpoint', `data service ${d.route} has no primary to take ${kind === 'write' ? 'writes' : 'this call'} (entente status shows why)`));
      call.endpoints = primary;
      call.balanceHost = d.writeHost;
      return next(call);
    };
    const http = call.http;
    // Bytes, not a request: it may be a write, so only the primary may take it.
    if (!http) return toPrimary('unclassified');
    if (d.isWrite(http.method, http.path, (name) => http.headers?.[name])) return toPrimary('write');
    const presented = http.headers?.[d.tokenHeader];
    if (presented === undefined) {
      const reads = d.reads.get(call.port) ?? [];
      if (reads.length === 0) return toPrimary('read');
      call.endpoints = reads;
      onCall?.(d.route, 'read', d.replicas.length === 0 ? 'primary' : 'replica');
      return next(call);
    }
    const token = parseConsistencyToken(presented);
    if (!token.ok) {
      onCall?.(d.route, 'bad_token', 'none');
      return Promise.resolve(fail('bad_consistency_token', `${d.tokenHeader}: ${token.reason}`));
    }
    const { endpoints, all } = tokenEndpoints(d, call.port, token.position);
    if (endpoints.length === 0) return toPrimary('token_read');
    // Every replica has replayed that far: the plain reads' endpoints and balancer serve it.
    if (all) call.endpoints = d.reads.get(call.port) ?? endpoints;
    else {
      call.endpoints = endpoints;
      call.balanceHost = d.tokenHost;
    }
    onCall?.(d.route, 'token_read', 'replica');
    return next(call);
  };
}
