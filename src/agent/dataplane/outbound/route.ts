// Outbound layer: which service serves the mesh host:port, with which
// endpoints, and the caller's SVID to present. Decided from the call's
// snapshot (decide.ts); nothing here does I/O.
import type { Layer } from '../stack.js';
import type { OutboundCall } from './call.js';
import type { DataplaneContext } from '../dataplane-context.js';
import { fail } from '../outcome.js';
import { resolveTarget } from './decide.js';
import { publishDecision } from '../observe/flow-events.js';

export function routeLayer(ctx: DataplaneContext): Layer<OutboundCall> {
  return (next) => (call) => {
    const target = resolveTarget(call.snapshot, call.host, call.port);
    if (target.kind === 'no-route') return Promise.resolve(fail('no_route', target.reason));
    call.service = target.service;
    call.traffic = call.snapshot.traffic.settingsFor(target.route.namespace, target.route.name, call.port);
    call.endpoints = target.endpoints;
    call.sticky = target.route.sticky;
    call.data = target.route.data;
    call.protocol = target.protocol;
    const workload = call.workload!;
    const creds = ctx.credentials.credentialsFor(workload);
    if (!creds) return Promise.resolve(fail('no_svid', `workload ${workload.namespace}/${workload.name} has no valid SVID yet`));
    call.creds = creds;
    // The caller is admitted and the route known: the outbound decision, for whoever listens.
    publishDecision(() => ({ dataplane: ctx.tag, direction: 'outbound', verdict: 'allow', service: target.service }));
    return next(call);
  };
}
