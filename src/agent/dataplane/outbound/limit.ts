// Outbound layer: the destination's circuit breaker. A call over its limit of
// calls in flight fails at once with a code (503 breaker_open) instead of
// queueing behind a destination that cannot keep up; the slot is held until
// the call is over (a byte stream's whole life).
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import { fail } from '../outcome.js';
import type { Balancers } from './balancers.js';

export function limitLayer(balancers: Balancers): Layer<OutboundCall> {
  return (next) => async (call) => {
    const breaker = balancers.breaker(call.service ?? '', call.traffic.breaker);
    const slot = breaker.tryAcquire();
    if (slot.kind === 'refuse') return fail(slot.code, `${call.service}: ${slot.reason}`);
    call.breaker = breaker;
    try {
      return await next(call);
    } finally {
      slot.release();
    }
  };
}
