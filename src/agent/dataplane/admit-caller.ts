// The first outbound layer: who is calling. The source address names a local
// workload; if that workload declares attest selectors, its process is looked
// up once per connection and must match them. Decide here, refuse in the caller.
import type { Socket } from 'node:net';
import type { DataplaneSnapshot } from './dataplane-snapshot.js';
import type { DataplaneContext } from './dataplane-context.js';
import { identifyCaller, judgeCaller, type AdmitDecision } from './outbound-target.js';
import { selectorsNeed } from '../attest/attest-selectors.js';

export async function admitCaller(ctx: DataplaneContext, snapshot: DataplaneSnapshot, socket: Socket): Promise<AdmitDecision> {
  const id = identifyCaller(snapshot, socket.remoteAddress);
  if (id.kind === 'unknown') return { kind: 'refuse', refusal: 'unknown_source', address: id.address, reason: id.reason };
  const { workload, address } = id;
  // Address-only workloads cost nothing more: no lookup at all.
  const outcome = workload.attest ? await ctx.attestations.factsFor(socket, selectorsNeed(workload.attest)) : undefined;
  return judgeCaller(workload, address, outcome, ctx.attestation.requireSelectors);
}
