// gateway.yaml: a region's east-west gateway.
import { z } from 'zod';
import { zAddress, zDnsLabel, zHttpsUrl } from '../core/config-types.js';

export const gatewayConfigSchema = z.strictObject({
  /** The gateway's node name (its join token is bound to it). */
  name: zDnsLabel,
  controller: zHttpsUrl,
  joinToken: z.string().optional(),
  joinTokenFile: z.string().optional(),
  dataDir: z.string().min(1, 'a directory path'),
  listen: zAddress,
  /** Address other regions dial (public IP, load balancer); default: the listen address. */
  advertise: zAddress.optional(),
  /** Prometheus metrics (plain HTTP). */
  metrics: zAddress.optional(),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
