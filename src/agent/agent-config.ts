// agent.yaml: one agent per node or device.
import * as z from 'zod';
import { WHEN_MAPPING, checkJoinToken, checkListeners, zAddress, zDnsLabel, zDurationMs, zHttpsUrl } from '../core/config-types.js';

export const agentConfigSchema = z.strictObject({
  node: zDnsLabel,
  /** The region controller's agent API. */
  controller: zHttpsUrl,
  /** One-time join token (only needed until the agent has enrolled; its state then lives in dataDir). */
  joinToken: z.string().optional(),
  joinTokenFile: z.string().optional(),
  dataDir: z.string({ error: 'a directory path' }).min(1, 'a directory path'),
  listen: z.strictObject({
    /** mTLS listener for other agents and gateways (HTTP/2 CONNECT). */
    inbound: zAddress,
    /** Local HTTP proxy for apps (CONNECT and absolute-URI requests). */
    httpProxy: zAddress.optional(),
    /** Prometheus metrics and status (plain HTTP; keep it on loopback). */
    metrics: zAddress.optional(),
  }),
  /** Address other nodes dial for `inbound` (default: the listen address). */
  advertise: zAddress.optional(),
  /** Caller attestation (docs/security.md "Workload attestation"). */
  attestation: z
    .strictObject({
      /** Refuse callers whose Workload declares no attest selectors, instead of identifying them by address only. */
      requireSelectors: z.boolean('true or false').default(false),
    })
    .default({ requireSelectors: false }),
  /** Per-service local ports: the L4 fast path for any TCP protocol. */
  outboundPorts: z
    .array(z.strictObject({ host: z.string().regex(/^[a-z0-9.-]+\.mesh$/, 'a mesh host such as "catalog.shop.mesh"'), port: z.number().int().min(1).max(65535), listen: zAddress }))
    .default([]),
  /** Data plane limits (docs/security.md "Limits" says why each default). */
  limits: z
    .strictObject({
      /** A peer must complete the mTLS handshake on the inbound port within this time. */
      handshakeTimeout: zDurationMs.default(10_000),
      /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per mesh session. */
      maxStreamsPerSession: z.number().int().min(1).max(65_535).default(100),
      /** Concurrent app connections (L4 streams, in-flight L7 requests) per destination workload. */
      maxConnectionsPerWorkload: z.number().int().min(1).max(1_000_000).default(1024),
    })
    .default({ handshakeTimeout: 10_000, maxStreamsPerSession: 100, maxConnectionsPerWorkload: 1024 }),
}).superRefine((c, ctx) => {
  checkJoinToken(c, ctx);
  const listen = (c.listen ?? {}) as Partial<typeof c.listen>;
  const ports = Array.isArray(c.outboundPorts) ? c.outboundPorts : [];
  checkListeners([
    { path: ['listen', 'inbound'], address: listen.inbound },
    { path: ['listen', 'httpProxy'], address: listen.httpProxy },
    { path: ['listen', 'metrics'], address: listen.metrics },
    ...ports.map((p, i) => ({ path: ['outboundPorts', i, 'listen'], address: (p as Partial<typeof p> | undefined)?.listen })),
  ], ctx);
}, WHEN_MAPPING);

export type AgentConfig = z.output<typeof agentConfigSchema>;
