// Outbound layer: which endpoint this attempt goes to. Endpoints already
// tried by this call are skipped, so a retry lands elsewhere when it can.
// The choice itself sits behind the balancer seam (balancers.ts).
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import { fail } from '../outcome.js';
import type { Balancers } from './balancers.js';

export function pickLayer(balancers: Balancers): Layer<OutboundCall> {
  return (next) => async (call) => {
    const picked = balancers.pick(call);
    if (picked.kind === 'none') return fail('no_endpoint', `${call.service} port ${call.port}: ${picked.reason}`);
    const endpoint = picked.endpoint;
    call.endpoint = endpoint;
    (call.tried ??= new Set()).add(picked.key);
    const load = picked.start();
    const o = await next(call);
    load.end(o);
    return o;
  };
}
