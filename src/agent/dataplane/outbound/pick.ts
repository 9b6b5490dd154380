// Outbound layer: which endpoint this attempt goes to, from the balancer's
// current picker (balancers.ts); endpoints this call already tried are
// skipped, so a retry lands elsewhere when it can. The attempt's result goes
// back to the balancer: for byte streams when the destination answers (their
// latency is time to answer, not the connection's life), for HTTP requests
// when the response is complete.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import { fail } from '../outcome.js';
import { callResult, type Balancers } from './balancers.js';
import type { ConnectPool } from './pool/connect-pool.js';

export function pickLayer(balancers: Balancers, pool: Pick<ConnectPool, 'warm'>): Layer<OutboundCall> {
  return (next) => async (call) => {
    const picked = balancers.pick(call);
    if (picked.kind === 'none') return fail('no_endpoint', `${call.service} port ${call.port}: ${picked.reason}`);
    // The path a failover would take gets a warm session now, not a cold WAN handshake then.
    if (call.creds) for (const e of picked.standby) pool.warm(call.snapshot, call.creds, e);
    call.endpoint = picked.endpoint;
    (call.tried ??= new Set()).add(picked.key);
    const handle = picked.start();
    if (!call.http) call.answered = (status) => handle.end(status === 0 ? 'reset' : status >= 500 ? '5xx' : 'ok');
    const o = await next(call);
    call.answered = undefined;
    handle.end(callResult(o));
    return o;
  };
}
