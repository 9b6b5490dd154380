// The outbound pipeline, assembled: a call from a local app passes these
// layers top to bottom; each line says why it is there. The three entries
// (per-service ports, HTTP CONNECT, absolute URI) only build a call and run
// this one stack.
import type { DataplaneContext } from '../dataplane-context.js';
import { stack, type Service } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { DataplaneTag } from '../observe/flow-events.js';
import type { ConnectPool } from './pool/connect-pool.js';
import { observeOutbound } from './observe.js';
import { respondOutbound } from './respond.js';
import { admitCallerLayer } from './admit-caller.js';
import { routeLayer } from './route.js';
import { stickyReadsLayer, WriteMarks } from './sticky-reads.js';
import { dataCallsLayer } from './data-calls.js';
import { timeoutLayer } from './timeout.js';
import { retryLayer } from './retry.js';
import { RetryBudgets } from './retry-budgets.js';
import { pickLayer } from './pick.js';
import { Balancers } from './balancers.js';
import { limitLayer } from './limit.js';
import { connectService } from './connect.js';

export interface OutboundStack {
  readonly service: Service<OutboundCall>;
  /** Diagnostics (the agent's /balancers), and told of each new snapshot (slow start runs from then). */
  readonly balancers: Pick<Balancers, 'describe' | 'observeRegions'>;
}

export function buildOutbound(ctx: DataplaneContext, tag: DataplaneTag, pool: ConnectPool): OutboundStack {
  const balancers = new Balancers({ now: ctx.now, rttMs: (path) => pool.rttMs(path) ?? ctx.state.current.pathRttMs?.get(path), staleRegions: () => ctx.state.current.staleRegions, unreachableRegions: () => ctx.state.current.unreachableRegions, onEjection: (service) => ctx.metrics.ejections.inc({ service }) });
  const service = stack<OutboundCall>()
    // Every call, refused or not, becomes one flow event (metrics, logs and /flows subscribe).
    .push(observeOutbound(tag, ctx.now))
    // The one place a failure becomes a status and a reason for the app.
    .push(respondOutbound())
    // Who is calling: source address, then the process against the Workload's attest selectors.
    .push(admitCallerLayer(ctx))
    // Which service and endpoints serve the mesh host:port, and the caller's SVID.
    .push(routeLayer(ctx))
    // Data services' TCP names: a caller that just wrote reads from the primary (read-your-writes).
    .push(stickyReadsLayer(new WriteMarks(ctx.now), (route) => ctx.metrics.stickyReads.inc({ route })))
    // HTTP data services: writes to the primary, reads to replicas within the bound (and a token's position).
    .push(dataCallsLayer((route, kind, to) => ctx.metrics.dataCalls.inc({ route, kind, to })))
    // The destination's circuit breaker: over its limit a call fails fast instead of queueing.
    .push(limitLayer(balancers))
    // The whole HTTP call is bounded: request timeout or the caller's shorter deadline.
    .push(timeoutLayer('request'))
    // Failover when a session cannot be set up; retries where safe, within a budget.
    .push(retryLayer(new RetryBudgets(ctx.now), (service, kind) => ctx.metrics.retries.inc({ service, kind })))
    // Each attempt is bounded on its own.
    .push(timeoutLayer('try'))
    // Which endpoint this attempt goes to (the balancer seam).
    .push(pickLayer(balancers, pool))
    // A CONNECT stream on a pooled mTLS session, handed to the entry's exchange.
    .end(connectService(pool));
  return { service, balancers };
}
