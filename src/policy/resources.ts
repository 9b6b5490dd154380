// Schemas of the policy resources (Kubernetes style, entente.dev/v1alpha1):
// Service, Workload, AuthorizationPolicy, and TrafficPolicy (its own file).
// Objects are strict so that a typo ("principles") is an error, not a silently ignored rule.
import { DataRouteSchema, type DataRoute } from './data-route-schema.js';
import { isIP } from 'node:net';
import * as z from 'zod';
import { SpiffeId, checkTrustDomain } from '../identity/spiffe-id.js';
import { parseStringPattern } from './string-pattern.js';
import { API_VERSION, LABEL_TEXT, label, list, method, pathPattern, port, resource, strict } from './resource-schema-parts.js';
import { TrafficPolicySchema } from './traffic-policy-schema.js';
import { SERVICE_PROTOCOLS } from '../mesh/mesh-config.js';

export { API_VERSION };

// --- Service ---------------------------------------------------------------

const servicePort = strict(
  {
    port,
    name: label().optional(),
    protocol: z.enum(SERVICE_PROTOCOLS, { error: `one of ${SERVICE_PROTOCOLS.map((p) => `"${p}"`).join(', ')}` }).default('tcp'),
    targetPort: port.optional(),
  },
  'a mapping with port, optional name, protocol and targetPort',
).transform((p) => ({ ...p, targetPort: p.targetPort ?? p.port }));

const servicePorts = list(servicePort, 'ports', false).superRefine((ports, ctx) => {
  const seen = new Map<unknown, number>();
  const targets = new Map<unknown, number>();
  const names = new Map<unknown, number>();
  ports.forEach((p, i) => {
    // Refinements also run over lists with bad items: look only at well-formed ones.
    if (typeof p !== 'object' || p === null) return;
    const first = seen.get(p.port);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'port'], message: `a port not already listed (ports[${first}] has ${p.port})` });
      return;
    }
    seen.set(p.port, i);
    // The destination agent sees only the target port: two Service ports on one would make its policy port and protocol ambiguous.
    const firstTarget = targets.get(p.targetPort);
    if (firstTarget !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'targetPort'], message: `a targetPort no other port uses (ports[${firstTarget}] already targets ${p.targetPort}; an omitted targetPort is the port)` });
    } else targets.set(p.targetPort, i);
    if (p.name === undefined) return;
    const firstName = names.get(p.name);
    if (firstName !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a port name not already used (ports[${firstName}] is "${p.name}")` });
    else names.set(p.name, i);
  });
});

export const ServiceSchema = resource(
  'Service',
  strict(
    {
      ports: servicePorts,
      export: z.boolean({ error: 'true or false' }).default(false),
      // Removed: the mode is each port's declared protocol, never a service-wide switch or the policies' content.
      l7: z.never({ error: 'no such key any more: set protocol: http on each HTTP port (spec.ports[].protocol) instead of l7' }).optional(),
    },
    'a mapping with ports and optional export',
  ),
);

// --- Workload --------------------------------------------------------------

const ADDRESS_TEXT = 'an IPv4 or IPv6 address literal, e.g. "10.0.0.7" or "fd00::7" (no port, no brackets)';

/** IPv6 literals are canonicalized, because the agent looks callers up by their exact source address. */
const ipAddress = z
  .string({ error: ADDRESS_TEXT })
  .refine((a) => isIP(a) !== 0, { error: ADDRESS_TEXT })
  .transform((a) => (isIP(a) === 6 ? canonicalIpv6(a) : a));

function canonicalIpv6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a.toLowerCase(); // e.g. a zone index ("fe80::1%eth0"), which URL refuses
  }
}

// What the workload's process must be, checked by its node's agent for every
// app connection (docs/security.md "Workload attestation"). Names are resolved
// on the node, so they are only checked for form here.
const ID_TEXT = 'a numeric id 0-4294967294';
const numericId = z.number({ error: ID_TEXT }).int({ error: ID_TEXT }).min(0, { error: ID_TEXT }).max(4294967294, { error: ID_TEXT });
const NAME_TEXT = 'a user or group name as in /etc/passwd or /etc/group (letters, digits, "_", "-", ".", at most 32 characters, not starting with a digit or "-")';
const accountName = z.string({ error: NAME_TEXT }).regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/, { error: NAME_TEXT });
const EXECUTABLE_TEXT = 'an absolute, normalized path of an executable, e.g. "/usr/local/bin/node" (no "." or ".." segments, no "//")';
const executablePath = z
  .string({ error: EXECUTABLE_TEXT })
  // eslint-disable-next-line no-control-regex
  .refine((p) => p.startsWith('/') && p.length > 1 && p.length <= 4096 && !/[\u0000\n]/.test(p) && !p.endsWith('/') && !p.split('/').slice(1).some((seg) => seg === '' || seg === '.' || seg === '..'), {
    error: EXECUTABLE_TEXT,
  });
const CGROUP_TEXT = 'a cgroup v2 path, exact ("/system.slice/shop.service") or a prefix ending in "*" ("/kubepods.slice/*")';
const cgroupPath = z
  .string({ error: CGROUP_TEXT })
  // eslint-disable-next-line no-control-regex
  .refine((p) => p.startsWith('/') && p.length <= 4096 && !/[\u0000-\u0020]/.test(p) && !p.slice(0, -1).includes('*'), { error: CGROUP_TEXT });
const UNIT_TEXT = 'a systemd unit name ending in ".service" or ".scope", e.g. "shop-frontend.service"';
const systemdUnit = z.string({ error: UNIT_TEXT }).regex(/^[A-Za-z0-9:_.\\@-]{1,248}\.(service|scope)$/, { error: UNIT_TEXT });

const ATTEST_KEYS = 'uid or user, gid or group, executable, cgroup, systemdUnit';
const attest = strict(
  {
    uid: numericId.optional(),
    user: accountName.optional(),
    gid: numericId.optional(),
    group: accountName.optional(),
    executable: executablePath.optional(),
    cgroup: cgroupPath.optional(),
    systemdUnit: systemdUnit.optional(),
  },
  `a mapping with any of ${ATTEST_KEYS}`,
).superRefine((a, ctx) => {
  if (Object.keys(a).length === 0) {
    ctx.addIssue({ code: 'custom', path: [], message: `a mapping with at least one of ${ATTEST_KEYS} (leave attest out for address-only identification instead of writing {})` });
  }
  if (a.uid !== undefined && a.user !== undefined) ctx.addIssue({ code: 'custom', path: ['user'], message: 'either uid or user, not both' });
  if (a.gid !== undefined && a.group !== undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: 'either gid or group, not both' });
  // Only over a well-formed mapping: a misspelt key is reported as such, not also as an empty mapping.
}, { when: (payload) => payload.issues.length === 0 });

const WEIGHT_TEXT = 'an integer 1-1000 (the default is 1)';
// The default (1) is dropped rather than filled in, so that a set written before
// weights existed keeps its digest: saved last-good sets and cross-region drift
// views survive the upgrade, and `weight: 1` spelled out changes nothing.
const weight = z
  .number({ error: WEIGHT_TEXT })
  .int({ error: WEIGHT_TEXT })
  .min(1, { error: WEIGHT_TEXT })
  .max(1000, { error: WEIGHT_TEXT })
  .optional()
  .transform((w) => (w === 1 ? undefined : w));

export const WorkloadSchema = resource(
  'Workload',
  strict(
    {
      service: label(`the name of a Service in the same namespace (${LABEL_TEXT})`),
      serviceAccount: label(),
      node: label(),
      address: ipAddress,
      zone: label().optional(),
      weight,
      attest: attest.optional(),
    },
    'a mapping with service, serviceAccount, node, address and optional zone, weight and attest',
  ),
);

// --- AuthorizationPolicy -----------------------------------------------------

const PRINCIPAL_TEXT =
  'a SPIFFE ID ("spiffe://td/ns/x/sa/y"), a glob with one leading or trailing "*" ("spiffe://td/ns/x/*", "*/sa/y") or "*"';

function isPrincipal(text: string): boolean {
  const p = parseStringPattern(text);
  if (!p) return false;
  if (p.kind === 'exact') return SpiffeId.check(text).ok;
  // A prefix glob must at least name the scheme, so "spiffe:/" typos are caught.
  if (p.kind === 'prefix') return p.value.startsWith('spiffe://');
  return true;
}

const principal = z.string({ error: PRINCIPAL_TEXT }).refine(isPrincipal, { error: PRINCIPAL_TEXT });

const TRUST_DOMAIN_TEXT = 'a trust domain (lower-case letters, digits, ".", "-" and "_"), e.g. "eu.example.org"';
const trustDomain = z.string({ error: TRUST_DOMAIN_TEXT }).refine((t) => checkTrustDomain(t).ok, { error: TRUST_DOMAIN_TEXT });

const fromEntry = strict(
  {
    principals: list(principal, 'principals').optional(),
    notPrincipals: list(principal, 'principals').optional(),
    namespaces: list(label(), 'namespaces').optional(),
    notNamespaces: list(label(), 'namespaces').optional(),
    trustDomains: list(trustDomain, 'trust domains').optional(),
    regions: list(label(), 'regions').optional(),
  },
  'a mapping with any of principals, notPrincipals, namespaces, notNamespaces, trustDomains, regions',
);

const toEntry = strict(
  {
    ports: list(port, 'ports').optional(),
    methods: list(method, 'methods').optional(),
    paths: list(pathPattern, 'paths').optional(),
    notPaths: list(pathPattern, 'paths').optional(),
  },
  'a mapping with any of ports, methods, paths, notPaths',
);

const rule = strict(
  {
    from: list(fromEntry, 'sources').optional(),
    to: list(toEntry, 'operations').optional(),
  },
  'a mapping with optional from and to',
);

export const AuthorizationPolicySchema = resource(
  'AuthorizationPolicy',
  strict(
    {
      selector: strict({ services: list(label(), 'service names', false) }, 'a mapping with services').optional(),
      action: z.enum(['ALLOW', 'DENY'], { error: 'one of "ALLOW", "DENY"' }).default('ALLOW'),
      rules: z.array(rule, { error: 'a list of rules' }).optional(),
    },
    'a mapping with optional selector, action and rules',
  ),
);

export type Service = z.output<typeof ServiceSchema>;
export type ServicePort = Service['spec']['ports'][number];
export type Workload = z.output<typeof WorkloadSchema>;
export type AuthorizationPolicy = z.output<typeof AuthorizationPolicySchema>;
export type AuthorizationRule = NonNullable<AuthorizationPolicy['spec']['rules']>[number];
export type TrafficPolicy = z.output<typeof TrafficPolicySchema>;
export type { DataRoute };
export type Resource = Service | Workload | AuthorizationPolicy | TrafficPolicy | DataRoute;
export type ResourceKind = Resource['kind'];

export { TrafficPolicySchema, DataRouteSchema };

export const RESOURCE_SCHEMAS = {
  Service: ServiceSchema,
  Workload: WorkloadSchema,
  AuthorizationPolicy: AuthorizationPolicySchema,
  TrafficPolicy: TrafficPolicySchema,
  DataRoute: DataRouteSchema,
} as const;

export const RESOURCE_KINDS = Object.keys(RESOURCE_SCHEMAS) as ResourceKind[];

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && Object.hasOwn(RESOURCE_SCHEMAS, kind);
}

/** "Service shop/cart": how errors and drift reports name a resource. */
export function resourceRef(r: { kind: string; metadata: { namespace: string; name: string } }): string {
  return `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`;
}
