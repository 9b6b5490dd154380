// Outbound layer: who is calling. The source address names a local
// workload; if that workload declares attest selectors, its process is looked
// up once per connection (cached per socket) and must match them.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { DataplaneContext } from '../dataplane-context.js';
import { fail } from '../outcome.js';
import { identifyCaller, judgeCaller } from './decide.js';
import { selectorsNeed } from '../../attest/attest-selectors.js';

export function admitCallerLayer(ctx: DataplaneContext): Layer<OutboundCall> {
  return (next) => async (call) => {
    const id = identifyCaller(call.snapshot, call.socket.remoteAddress);
    if (id.kind === 'unknown') {
      call.callerRefused = true;
      return fail('unknown_source', id.reason);
    }
    const { workload, address } = id;
    call.workload = workload;
    // Address-only workloads cost nothing more: no lookup at all.
    const outcome = workload.attest ? await ctx.attestations.factsFor(call.socket, selectorsNeed(workload.attest)) : undefined;
    const judged = judgeCaller(workload, address, outcome, ctx.attestation.requireSelectors);
    if (judged.kind === 'refuse') {
      call.callerRefused = true;
      return fail(judged.refusal, judged.reason);
    }
    call.attested = judged.attested;
    return next(call);
  };
}
