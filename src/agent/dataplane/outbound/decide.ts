// Pure decisions of the outbound side: which local workload is calling (by the
// source address of its connection, then its process against the workload's
// attest selectors) and which route serves a mesh host:port.
import type { DataplaneSnapshot, Endpoint, LocalWorkload, ServiceRoute } from '../dataplane-snapshot.js';
import type { AttestOutcome } from '../../attest/attestor.js';
import { describeCaller, matchSelectors } from '../../attest/attest-selectors.js';

export type CallerDecision = { kind: 'caller'; workload: LocalWorkload; address: string } | { kind: 'unknown'; address: string; reason: string };

/** Refusal reasons, as counted in entente_agent_refused_connections_total{reason}. */
export type CallerRefusal = 'unknown_source' | 'attestation_failed' | 'no_selectors';

export type AdmitDecision =
  | { kind: 'caller'; workload: LocalWorkload; attested: boolean }
  | { kind: 'refuse'; refusal: CallerRefusal; address: string; workload?: LocalWorkload; reason: string };

/**
 * The caller's process against its workload's selectors. `outcome` is what
 * the attestor found (undefined: nothing was looked up, because the workload
 * declares no selectors). Fail closed: declared selectors and no facts refuse.
 */
export function judgeCaller(workload: LocalWorkload, address: string, outcome: AttestOutcome | undefined, requireSelectors: boolean): AdmitDecision {
  // Built only for a refusal: an admitted keep-alive request pays for no string.
  const name = (): string => `${workload.namespace}/${workload.name}`;
  if (!workload.attest) {
    if (!requireSelectors) return { kind: 'caller', workload, attested: false };
    return {
      kind: 'refuse',
      refusal: 'no_selectors',
      address,
      workload,
      reason: `workload ${name()} declares no attest selectors and this agent requires them (attestation.requireSelectors); add spec.attest to the Workload`,
    };
  }
  if (!outcome || outcome.kind === 'unattested') {
    const why = outcome ? outcome.reason : 'nothing was looked up';
    return { kind: 'refuse', refusal: 'attestation_failed', address, workload, reason: `cannot attest the caller from ${address} as workload ${name()}, which declares attest selectors: ${why}` };
  }
  const m = matchSelectors(workload.attest, outcome.facts);
  if (m.kind === 'match') return { kind: 'caller', workload, attested: true };
  return { kind: 'refuse', refusal: 'attestation_failed', address, workload, reason: `${describeCaller(outcome.facts)} does not match workload ${name()}: ${m.reason}` };
}

export type TargetDecision =
  | { kind: 'route'; route: ServiceRoute; endpoints: readonly Endpoint[]; service: string; protocol: 'http' | 'tcp' }
  | { kind: 'no-route'; reason: string };

/** IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function identifyCaller(snapshot: DataplaneSnapshot, remoteAddress: string | undefined): CallerDecision {
  const address = normalizeAddress(remoteAddress);
  const workload = snapshot.localWorkloadsByAddress.get(address);
  if (workload) return { kind: 'caller', workload, address };
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
  return { kind: 'route', route, endpoints, service, protocol: route.protocols?.get(port) ?? 'tcp' };
}
