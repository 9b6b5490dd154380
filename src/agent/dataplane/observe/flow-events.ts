// Flow start, decision and end, published on node:diagnostics_channel so that
// metrics, the agent's /flows ring, refusal logs and later exporters (the
// dashboard, OpenTelemetry) all subscribe to one source instead of being
// called from the data path. A publish with no subscriber costs a property
// read. Channels are process-wide: each event names the data plane it comes
// from, so two data planes in one process (tests, the bench) stay apart.
import diagnostics_channel from 'node:diagnostics_channel';
import type { FlowRecord } from './flow-record.js';
import type { FailureCode } from '../outcome.js';

export const FLOW_START_CHANNEL = 'entente.dataplane.flow.start';
export const FLOW_DECISION_CHANNEL = 'entente.dataplane.flow.decision';
export const FLOW_END_CHANNEL = 'entente.dataplane.flow.end';

const startChannel = diagnostics_channel.channel(FLOW_START_CHANNEL);
const decisionChannel = diagnostics_channel.channel(FLOW_DECISION_CHANNEL);
const endChannel = diagnostics_channel.channel(FLOW_END_CHANNEL);

/** Names one data plane in the events it publishes. */
export interface DataplaneTag {
  readonly id: number;
  /** Region and node when known, for exporters. */
  readonly label: string;
}

let nextId = 1;
export function newDataplaneTag(label: string): DataplaneTag {
  return { id: nextId++, label };
}

export interface FlowStartEvent {
  readonly dataplane: DataplaneTag;
  readonly direction: 'inbound' | 'outbound';
  readonly time: number;
  /** "host:port" (outbound) or the :authority (inbound). */
  readonly target: string;
}

export interface FlowDecisionEvent {
  readonly dataplane: DataplaneTag;
  readonly direction: 'inbound' | 'outbound';
  readonly verdict: 'allow' | 'deny' | 'error';
  readonly service?: string;
  readonly policy?: string;
  readonly rule?: number;
  readonly code?: FailureCode;
}

export interface FlowEndEvent {
  readonly dataplane: DataplaneTag;
  readonly record: FlowRecord;
  /** The failure's stable code; absent when the flow went through. */
  readonly code?: FailureCode;
  /** One HTTP request on an L7 stream (rather than a whole stream). */
  readonly perRequest: boolean;
}

export function publishStart(e: FlowStartEvent): void {
  if (startChannel.hasSubscribers) startChannel.publish(e);
}

export function publishDecision(e: () => FlowDecisionEvent): void {
  // Built only when someone listens: the decision is already in the end record.
  if (decisionChannel.hasSubscribers) decisionChannel.publish(e());
}

export function publishEnd(e: FlowEndEvent): void {
  if (endChannel.hasSubscribers) endChannel.publish(e);
}

export interface FlowHandlers {
  start?(e: FlowStartEvent): void;
  decision?(e: FlowDecisionEvent): void;
  end?(e: FlowEndEvent): void;
}

/** Subscribes to one data plane's events; returns the unsubscribe function. */
export function subscribeFlows(tag: DataplaneTag, h: FlowHandlers): () => void {
  const wrap = <E extends { dataplane: DataplaneTag }>(fn: ((e: E) => void) | undefined): ((m: unknown) => void) | undefined =>
    fn &&
    ((m: unknown) => {
      const e = m as E;
      if (e.dataplane === tag) fn(e);
    });
  const subs: Array<[diagnostics_channel.Channel, (m: unknown) => void]> = [];
  const s = wrap(h.start);
  const d = wrap(h.decision);
  const en = wrap(h.end);
  if (s) subs.push([startChannel, s]);
  if (d) subs.push([decisionChannel, d]);
  if (en) subs.push([endChannel, en]);
  for (const [c, fn] of subs) c.subscribe(fn);
  return () => {
    for (const [c, fn] of subs) c.unsubscribe(fn);
  };
}
