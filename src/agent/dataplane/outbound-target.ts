// Pure decisions of the outbound side: which local workload is calling (by the
// source address of its connection) and which route serves a mesh host:port.
import type { DataplaneSnapshot, Endpoint, LocalWorkload, ServiceRoute } from './dataplane-snapshot.js';

export type CallerDecision = { kind: 'caller'; workload: LocalWorkload } | { kind: 'unknown'; address: string; reason: string };

export type TargetDecision =
  | { kind: 'route'; route: ServiceRoute; endpoints: readonly Endpoint[]; service: string }
  | { kind: 'no-route'; reason: string };

/** IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function identifyCaller(snapshot: DataplaneSnapshot, remoteAddress: string | undefined): CallerDecision {
  const address = normalizeAddress(remoteAddress);
  const workload = snapshot.localWorkloadsByAddress.get(address);
  if (workload) return { kind: 'caller', workload };
  return {
    kind: 'unknown',
    address,
    reason: `connection from ${address || 'an unknown address'} matches no workload on this node; apps must call from their Workload address`,
  };
}

export function resolveTarget(snapshot: DataplaneSnapshot, host: string, port: number): TargetDecision {
  const name = host.toLowerCase().replace(/\.$/, '');
  const route = snapshot.routes.get(name);
  if (!route) {
    const hint = name.endsWith('.mesh') ? 'no such service is known (or exported) to this region' : 'mesh hosts look like <service>.<namespace>.mesh or <service>.<namespace>.<region>.mesh';
    return { kind: 'no-route', reason: `no route to ${name}: ${hint}` };
  }
  const endpoints = route.ports.get(port);
  const service = `${route.namespace}/${route.name}`;
  if (!endpoints) {
    const known = [...route.ports.keys()].join(', ') || 'none';
    return { kind: 'no-route', reason: `service ${service} has no port ${port} (ports: ${known})` };
  }
  if (endpoints.length === 0) return { kind: 'no-route', reason: `service ${service} port ${port} has no healthy endpoint` };
  return { kind: 'route', route, endpoints, service };
}
