// The gateway's Prometheus metrics on a registry passed in; a second gateway on
// the same registry reuses the same series instead of failing to register.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayResult } from './route-decision.js';

export type Direction = 'client_to_upstream' | 'upstream_to_client';

export interface GatewayMetrics {
  connection(result: GatewayResult): void;
  readonly active: { inc(): void; dec(): void };
  bytes(direction: Direction, n: number): void;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const connections = getOrCreate(registry, 'entente_gateway_connections_total', () => new Counter({
    name: 'entente_gateway_connections_total',
    help: 'Connections accepted by the gateway, by how they ended up (routed, aborted, or a refusal reason)',
    labelNames: ['result'] as const,
    registers: [registry],
  }));
  const active = getOrCreate(registry, 'entente_gateway_active_connections', () => new Gauge({
    name: 'entente_gateway_active_connections',
    help: 'Client connections currently open on the gateway (reading the hello, connecting, or spliced)',
    registers: [registry],
  }));
  const bytes = getOrCreate(registry, 'entente_gateway_bytes_total', () => new Counter({
    name: 'entente_gateway_bytes_total',
    help: 'Bytes spliced by the gateway, by direction (the buffered ClientHello counts as client_to_upstream)',
    labelNames: ['direction'] as const,
    registers: [registry],
  }));
  // Bound children: the per-chunk path does no label hashing.
  const byDirection = { client_to_upstream: bytes.labels('client_to_upstream'), upstream_to_client: bytes.labels('upstream_to_client') };
  return {
    connection: (result) => connections.inc({ result }),
    active: { inc: () => active.inc(), dec: () => active.dec() },
    bytes: (direction, n) => byDirection[direction].inc(n),
  };
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}
