// agent.yaml: one agent per node or device.
import { z } from 'zod';
import { zAddress, zDnsLabel, zHttpsUrl } from '../core/config-types.js';

export const agentConfigSchema = z.strictObject({
  node: zDnsLabel,
  /** The region controller's agent API. */
  controller: zHttpsUrl,
  /** One-time join token (only needed until the agent has enrolled; its state then lives in dataDir). */
  joinToken: z.string().optional(),
  joinTokenFile: z.string().optional(),
  dataDir: z.string().min(1, 'a directory path'),
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
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
