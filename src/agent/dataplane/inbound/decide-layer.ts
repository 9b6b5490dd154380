// Inbound stage: the stream's decision, from the snapshot and the verified
// peer (decide.ts, a pure function with a table test): which local workload
// and declared port, which mode, and for TCP ports whether policy allows it.
// Then the stream goes to the mode's carrier.
import type { Service } from '../stack.js';
import type { InboundCall } from './call.js';
import { fail, type Outcome } from '../outcome.js';
import { decideInbound, type InboundDecision } from './decide.js';
import { publishDecision, type DataplaneTag, type FlowDecisionEvent } from '../observe/flow-events.js';

export type L4Decision = Extract<InboundDecision, { kind: 'l4' }>;
export type L7Decision = Extract<InboundDecision, { kind: 'l7' }>;
export type L7RequestDecision = Extract<InboundDecision, { kind: 'l7-request' }>;

export interface Carriers {
  l4(call: InboundCall, d: L4Decision): Promise<Outcome>;
  l7(call: InboundCall, d: L7Decision): Outcome;
  l7Request(call: InboundCall, d: L7RequestDecision): Outcome;
}

function decisionEvent(tag: DataplaneTag, d: InboundDecision): FlowDecisionEvent {
  const target = d.kind === 'refuse' ? d.target : d;
  return {
    dataplane: tag,
    direction: 'inbound',
    verdict: d.kind === 'refuse' ? d.verdict : 'allow',
    ...(target ? { service: `${target.service.namespace}/${target.service.name}` } : {}),
    ...(d.kind === 'refuse' ? { code: d.code, policy: d.policy, rule: d.rule } : {}),
    ...(d.kind === 'l4' ? { policy: d.policy, rule: d.rule } : {}),
  };
}

export function decideService(tag: DataplaneTag, carriers: Carriers): Service<InboundCall> {
  return (call) => {
    const d = decideInbound(call.snapshot, call.peer, call.headers[':method'], call.headers[':authority']);
    publishDecision(() => decisionEvent(tag, d));
    if (d.kind === 'refuse') {
      call.target = d.target;
      call.policy = d.policy;
      call.rule = d.rule;
      return Promise.resolve(fail(d.code, d.reason));
    }
    call.target = d;
    if (d.kind === 'l7') return Promise.resolve(carriers.l7(call, d));
    if (d.kind === 'l7-request') return Promise.resolve(carriers.l7Request(call, d));
    call.policy = d.policy;
    call.rule = d.rule;
    return carriers.l4(call, d);
  };
}
