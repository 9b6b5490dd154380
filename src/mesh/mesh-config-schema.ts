// The wire MeshConfig, checked whole: agents and gateways run every config
// line (and their cached config.json at start) through this before they build
// anything from it, so a bad value is refused as a value, never thrown later.
import { isIP } from 'node:net';
import * as z from 'zod';
import { canonicalIp, isUnspecifiedIp, parseSocketAddress } from '../core/address.js';
import { TrafficPolicySchema } from '../policy/traffic-policy-schema.js';
import { AuthorizationPolicySchema } from '../policy/resources.js';
import { isDnsLabel } from './sni-name.js';
import { SERVICE_PROTOCOLS, type MeshConfig } from './mesh-config.js';

const label = z.string().refine(isDnsLabel, 'a DNS label');
const port = z.number().int().min(1).max(65535);

function socketAddress(literalIp: boolean) {
  const what = literalIp ? 'a literal IP:port with a port 1-65535, e.g. "10.0.0.5:15008"' : 'a host:port with a port 1-65535';
  return z.string().refine((s) => {
    try {
      const a = parseSocketAddress(s, 'address', false);
      if (!literalIp) return true;
      const ip = canonicalIp(a.host);
      return ip !== undefined && !isUnspecifiedIp(ip);
    } catch {
      return false;
    }
  }, what);
}

// Loose objects: a newer controller may add fields an older node does not know; they pass through untouched.
const servicePort = z.looseObject({ port, targetPort: port, protocol: z.enum(SERVICE_PROTOCOLS) });
const workload = z.looseObject({
  name: label,
  namespace: label,
  service: label,
  serviceAccount: label,
  node: label,
  address: z.string().refine((a) => isIP(a) !== 0, 'an IP literal'),
  zone: label.optional(),
  weight: z.number().int().min(1).max(1000).optional(),
  // Selectors decide who may act as the workload: a malformed set refuses the config (fail closed), never drops a check.
  attest: z
    .strictObject({
      uid: z.number().int().min(0).optional(),
      user: z.string().min(1).optional(),
      gid: z.number().int().min(0).optional(),
      group: z.string().min(1).optional(),
      executable: z.string().startsWith('/').optional(),
      cgroup: z.string().startsWith('/').optional(),
      systemdUnit: z.string().min(1).optional(),
    })
    .refine((a) => Object.keys(a).length > 0, 'at least one selector')
    .optional(),
});
const service = z.looseObject({ namespace: label, name: label, ports: z.array(servicePort), export: z.boolean() });
const exported = z.looseObject({ namespace: label, name: label, ports: z.array(servicePort), endpoints: z.array(workload) });
const remoteRegion = z.looseObject({
  region: label,
  trustDomain: z.string().min(1),
  gateway: socketAddress(false).optional(),
  gateways: z.array(socketAddress(false)).max(16).optional(),
  exportedServices: z.array(exported),
  ageMs: z.number(),
  stale: z.boolean(),
  reachable: z.boolean().optional(),
  rttMs: z.number().min(0).max(600_000).optional(),
  loss: z.number().min(0).max(1).optional(),
  relays: z.array(z.looseObject({ via: label, rttMs: z.number().min(0).max(600_000).optional() })).max(64).optional(),
});

const hexPosition = z.string().regex(/^[0-9a-f]{1,16}$/, 'a position in lowercase hex (at most 16 digits)');
const dataMember = z.looseObject({ workload: label, region: label, position: hexPosition.optional() });
const dataRoute = z.looseObject({
  namespace: label,
  name: label,
  service: label,
  protocol: z.enum(['postgresql', 'http']),
  readWrite: label.optional(),
  readOnly: label.optional(),
  stickyAfterWriteMs: z.number().int().min(0).max(3_600_000).optional(),
  http: z
    .looseObject({
      writes: z.array(z.looseObject({ methods: z.array(z.string().max(32)).max(32).optional(), paths: z.array(z.string().max(1024)).max(256).optional(), header: z.looseObject({ name: z.string().min(1).max(256), values: z.array(z.string().max(256)).max(64).optional() }).optional() })).max(256),
      tokenHeader: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a lower-case HTTP header name'),
      positionPath: z.string().regex(/^\/[\x21-\x7e]{0,1023}$/, 'a request path starting with "/"'),
    })
    .optional(),
  writes: z.array(dataMember).max(1000),
  reads: z.array(dataMember).max(1000),
});

export const meshConfigSchema = z.looseObject({
  version: z.number().int().min(0),
  region: label,
  trustDomain: z.string().regex(/^[a-z0-9._-]{1,255}$/, 'a trust domain name'),
  zone: label.optional(),
  bundles: z.record(z.string().min(1), z.record(z.string(), z.unknown())),
  services: z.array(service),
  workloads: z.array(workload),
  nodes: z.record(label, socketAddress(true)),
  remoteRegions: z.array(remoteRegion),
  // The resource schemas themselves: a malformed policy refuses the config, it is never half applied.
  authorizationPolicies: z.array(AuthorizationPolicySchema),
  trafficPolicies: z.array(TrafficPolicySchema).optional(),
  policyDigest: z.string(),
  controllerAddresses: z.array(socketAddress(false)).optional(),
  relayTo: z.array(label).max(1024).optional(),
  dataRoutes: z.array(dataRoute).max(1000).optional(),
});

export type MeshConfigCheck = { readonly kind: 'ok'; readonly config: MeshConfig } | { readonly kind: 'invalid'; readonly problems: readonly string[] };

/** Every problem in one pass, each naming its key, the bad value and what was expected. */
export function checkMeshConfig(value: unknown): MeshConfigCheck {
  const r = meshConfigSchema.safeParse(value);
  if (r.success) return { kind: 'ok', config: value as MeshConfig };
  return {
    kind: 'invalid',
    problems: r.error.issues.slice(0, 20).map((i) => {
      const bad = i.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), value);
      const shown = bad === undefined ? 'missing' : JSON.stringify(bad)?.slice(0, 80);
      return `${i.path.join('.') || '(config)'}: ${shown}: expected ${i.message}`;
    }),
  };
}
