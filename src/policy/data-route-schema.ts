// Schema of the DataRoute resource (docs/data-routing.md): a logical data
// service whose members (the Workloads of one Service, in any region) are a
// primary and its replicas, found by probing; reads go to the nearest member
// within the lag bound, writes to the primary. Classified by the name a
// client dials (TCP: a read-write and a read-only name, as PostgreSQL's
// target_session_attrs) or by method, path and header (HTTP).
import * as z from 'zod';
import { label, list, method, pathPattern, port, resource, strict } from './resource-schema-parts.js';
import { duration } from './traffic-policy-schema.js';

const MINUTE = 60_000;

const HEADER_NAME_TEXT = 'a lower-case HTTP header name, e.g. "x-consistency"';
const headerName = z.string({ error: HEADER_NAME_TEXT }).regex(/^[a-z0-9-]{1,64}$/, { error: HEADER_NAME_TEXT });

/** protocol http without an `http` block: the methods that change state are writes, the token in this header. */
const DEFAULT_HTTP = { writes: [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'] }], tokenHeader: 'x-entente-consistency' } as const;

const writeMatch = strict(
  {
    methods: list(method, 'methods').optional(),
    paths: list(pathPattern, 'paths').optional(),
    /** A request carrying this header (any value, or one of `values`) is a write. */
    header: strict({ name: headerName, values: list(z.string().min(1).max(256), 'values').optional() }, 'a mapping with name and optional values').optional(),
  },
  'a mapping with any of methods, paths, header',
).superRefine((w, ctx) => {
  if (w.methods === undefined && w.paths === undefined && w.header === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'a mapping with methods, paths or header (an empty one would make every request a write)' });
}, { when: (payload) => payload.issues.length === 0 });

export const DataRouteSchema = resource(
  'DataRoute',
  strict(
    {
      /** The Service whose Workloads are the data service's servers, in every region. */
      members: strict({ service: label(), port }, 'a mapping with service and port'),
      protocol: z.enum(['postgresql', 'http'], { error: 'one of "postgresql", "http"' }),
      /** A replica further behind than this serves no read. */
      maxLag: duration(10 * MINUTE),
      probe: strict(
        {
          interval: duration(MINUTE).default('500ms'),
          timeout: duration(MINUTE).default('1s'),
          /** postgresql: the role and database the probe logs in as. */
          user: z.string().min(1).max(63).optional(),
          database: z.string().min(1).max(63).default('postgres'),
          /** postgresql: a file holding the probe role's password (read by the prober, never logged). */
          passwordFile: z.string().min(1).max(4096).optional(),
          /** http: the path that answers {"role": "primary"|"replica", "position": N, "lagSeconds": N}. */
          path: pathPattern.optional(),
        },
        'a mapping with any of interval, timeout, user, database, passwordFile, path',
      ).prefault({}),
      /** TCP: the names clients dial, as <name>.<namespace>.mesh. */
      tcp: strict(
        {
          readWrite: label(),
          readOnly: label(),
          /** After a write connection, the same caller's read connections go to the primary for this long. */
          stickyAfterWrite: duration(10 * MINUTE).default('5s'),
        },
        'a mapping with readWrite, readOnly and optional stickyAfterWrite',
      ).optional(),
      /** HTTP: which requests are writes (the rest are reads), and the consistency token's header. */
      http: strict(
        {
          writes: list(writeMatch, 'write matches').default(DEFAULT_HTTP.writes.map((w) => ({ methods: [...w.methods] }))),
          tokenHeader: headerName.default(DEFAULT_HTTP.tokenHeader),
        },
        'a mapping with any of writes, tokenHeader',
      ).optional(),
      /** Probe results older than this count as a failed probe (over the bound). */
      staleAfter: duration(10 * MINUTE).default('3s'),
    },
    'a mapping with members, protocol, maxLag and any of probe, tcp, http, staleAfter',
  ).superRefine((s, ctx) => {
    if (s.protocol === 'postgresql' && s.tcp === undefined) ctx.addIssue({ code: 'custom', path: ['tcp'], message: 'required for protocol postgresql: the readWrite and readOnly names clients dial' });
    if (s.protocol === 'postgresql' && s.probe.user === undefined) ctx.addIssue({ code: 'custom', path: ['probe', 'user'], message: 'required for protocol postgresql: the role the probe logs in as' });
    if (s.protocol === 'http' && s.probe.path === undefined) ctx.addIssue({ code: 'custom', path: ['probe', 'path'], message: 'required for protocol http: the lag endpoint of each member' });
    if (s.tcp && s.tcp.readWrite === s.tcp.readOnly) ctx.addIssue({ code: 'custom', path: ['tcp', 'readOnly'], message: `a name other than readWrite ("${s.tcp.readWrite}")` });
  }, { when: (payload) => payload.issues.length === 0 }),
);

export type DataRoute = z.output<typeof DataRouteSchema>;

export type DataRouteHttp = NonNullable<DataRoute['spec']['http']>;

/** The HTTP settings of a route, the defaults filled in when it has no `http` block. */
export function httpSettings(route: DataRoute): DataRouteHttp {
  return route.spec.http ?? { writes: DEFAULT_HTTP.writes.map((w) => ({ methods: [...w.methods] })), tokenHeader: DEFAULT_HTTP.tokenHeader };
}
