// Pure: the request an agent would put to authorize() for a caller, a Service
// of the resource set and a port, method and path, as `policy test` and
// `policy explain` describe it. It asks what the data plane asks: a tcp port
// once per stream (no method or path), an http or http2 port per request.
import { SpiffeId } from '../../identity/spiffe-id.js';
import type { AuthzRequest } from '../authorize.js';
import type { ResourceSet } from '../resource-set.js';
import type { Service, ServicePort } from '../resources.js';

export interface RequestSpec {
  /** The caller's SPIFFE ID. */
  readonly from: string;
  /** "namespace/service", or a Service name that only one namespace declares. */
  readonly to: string;
  readonly port?: number;
  readonly method?: string;
  readonly path?: string;
  /** The caller's region; absent: unknown, as when an agent cannot map the caller's trust domain. */
  readonly region?: string;
}

/** What was filled in because the spec left it out: an HTTP port is always asked with a method and a path. */
export interface Assumed {
  readonly port?: number;
  readonly method?: string;
  readonly path?: string;
}

export type BuiltRequest =
  | { readonly ok: true; readonly request: AuthzRequest; readonly service: Service; readonly port: ServicePort; readonly assumed: Assumed }
  | { readonly ok: false; readonly problems: readonly { readonly key: keyof RequestSpec; readonly message: string }[] };

export const DEFAULT_METHOD = 'GET';
export const DEFAULT_PATH = '/';

export function buildAuthzRequest(set: ResourceSet, spec: RequestSpec): BuiltRequest {
  const id = SpiffeId.check(spec.from);
  if (!id.ok) return fail('from', `${JSON.stringify(spec.from)} is not a SPIFFE ID: ${id.reason}`);
  const found = findService(set, spec.to);
  if (typeof found === 'string') return fail('to', found);
  const ports = found.spec.ports;
  const list = ports.map((p) => `${p.port} (${p.protocol})`).join(', ');
  let port: ServicePort | undefined;
  const assumed: { port?: number; method?: string; path?: string } = {};
  if (spec.port === undefined) {
    if (ports.length !== 1) return fail('port', `required: ${ref(found)} has ports ${list}`);
    port = ports[0]!;
    assumed.port = port.port;
  } else {
    port = ports.find((p) => p.port === spec.port);
    if (!port) return fail('port', `${ref(found)} has no port ${spec.port} (it has ${list}; ports are Service ports, not target ports)`);
  }
  let method = spec.method;
  let path = spec.path;
  if (port.protocol === 'tcp') {
    if (method !== undefined || path !== undefined) {
      return fail(method !== undefined ? 'method' : 'path', `port ${port.port} of ${ref(found)} is tcp: a stream is authorized once, without a method or path; drop method and path, or declare protocol: http on the port`);
    }
  } else {
    if (method === undefined) assumed.method = method = DEFAULT_METHOD;
    if (path === undefined) assumed.path = path = DEFAULT_PATH;
  }
  const request: AuthzRequest = {
    caller: {
      id: id.value.toString(),
      trustDomain: id.value.trustDomain,
      ...(id.value.namespace !== undefined ? { namespace: id.value.namespace } : {}),
      ...(spec.region !== undefined ? { region: spec.region } : {}),
    },
    service: { namespace: found.metadata.namespace, name: found.metadata.name },
    port: port.port,
    ...(method !== undefined ? { method } : {}),
    ...(path !== undefined ? { path } : {}),
  };
  return { ok: true, request, service: found, port, assumed };
}

function fail(key: keyof RequestSpec, message: string): BuiltRequest {
  return { ok: false, problems: [{ key, message }] };
}

const ref = (s: Service): string => `${s.metadata.namespace}/${s.metadata.name}`;

/** The Service `to` names, or why none. */
function findService(set: ResourceSet, to: string): Service | string {
  const slash = to.indexOf('/');
  const matches = slash === -1
    ? set.services.filter((s) => s.metadata.name === to)
    : set.services.filter((s) => ref(s) === to);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) return `"${to}" is a Service in several namespaces (${matches.map(ref).join(', ')}): write namespace/service`;
  const known = set.services.map(ref);
  return `no Service ${JSON.stringify(to)} in the directory (${known.length > 0 ? `Services: ${known.join(', ')}` : 'it declares none'})`;
}

/** "spiffe://td/ns/web/sa/frontend -> shop/cart:8080 GET /api": a request in one line. */
export function describeRequest(r: AuthzRequest): string {
  const http = r.method !== undefined || r.path !== undefined ? ` ${r.method ?? '-'} ${r.path ?? '-'}` : '';
  const region = r.caller.region !== undefined ? ` (region ${r.caller.region})` : '';
  return `${r.caller.id}${region} -> ${r.service.namespace}/${r.service.name}:${r.port}${http}`;
}
