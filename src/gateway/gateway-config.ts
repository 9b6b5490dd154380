// gateway.yaml: a region's east-west gateway.
import * as z from 'zod';
import { WHEN_MAPPING, checkJoinToken, checkListeners, zAddress, zDnsLabel, zControllerUrls } from '../core/config-types.js';
import { DEFAULT_GATEWAY_CAPS } from './connection-caps.js';

export const gatewayConfigSchema = z.strictObject({
  /** The gateway's node name (its join token is bound to it). */
  name: zDnsLabel,
  controller: zControllerUrls,
  joinToken: z.string().optional(),
  joinTokenFile: z.string().optional(),
  dataDir: z.string({ error: 'a directory path' }).min(1, 'a directory path'),
  listen: zAddress,
  /** Address other regions dial (public IP, load balancer); default: the listen address. */
  advertise: zAddress.optional(),
  /** Prometheus metrics (plain HTTP). */
  metrics: zAddress.optional(),
  /** Connection caps (docs/security.md "Limits" says why each default). */
  limits: z
    .strictObject({
      /** Client connections open at once, all sources together. */
      maxConnections: z.number().int().min(1).max(1_000_000).default(DEFAULT_GATEWAY_CAPS.maxConnections),
      /** Client connections open at once from one source IP address. */
      maxConnectionsPerSource: z.number().int().min(1).max(1_000_000).default(DEFAULT_GATEWAY_CAPS.maxConnectionsPerSource),
    })
    .default(DEFAULT_GATEWAY_CAPS),
}).superRefine((c, ctx) => {
  checkJoinToken(c, ctx);
  checkListeners([{ path: ['listen'], address: c.listen }, { path: ['metrics'], address: c.metrics }], ctx);
}, WHEN_MAPPING);

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
