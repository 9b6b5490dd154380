// Flow records as they cross a trust boundary: an agent's batch to its
// controller, a peer controller's answer to ours. Each record is checked on
// its own (a bad one is refused and counted, the rest of the batch kept), and
// the side of the flow the sender may speak for is enforced: an agent or a
// peer region reports only flows its own region took part in.
import { z } from 'zod';

const REGION = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const short = (max: number) => z.string().min(1).max(max);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** One flow on the wire; every field of src/agent/dataplane/observe/flow-record.ts, bounded. */
export const wireFlowSchema = z.object({
  time: count,
  direction: z.enum(['inbound', 'outbound']),
  source: short(2048).startsWith('spiffe://').optional(),
  sourceAddress: short(64).optional(),
  peerAddress: short(64).optional(),
  attested: z.boolean().optional(),
  destination: short(2048).startsWith('spiffe://').optional(),
  service: short(254).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  sourceRegion: z.string().regex(REGION).optional(),
  destinationRegion: z.string().regex(REGION).optional(),
  sourceZone: short(63).optional(),
  destinationZone: short(63).optional(),
  regionPath: short(256).optional(),
  verdict: z.enum(['allow', 'deny', 'error']),
  policy: short(254).optional(),
  rule: z.number().int().nonnegative().max(100_000).optional(),
  reason: short(512).optional(),
  method: short(32).optional(),
  path: short(2048).optional(),
  status: z.number().int().min(0).max(999).optional(),
  grpcStatus: z.number().int().min(0).max(99).optional(),
  bytesOut: count,
  bytesIn: count,
  durationMs: z.number().nonnegative().max(365 * 86_400_000),
  traceId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  spanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  sampled: z.boolean().optional(),
});

export type WireFlow = z.infer<typeof wireFlowSchema>;

/** A flow as a controller holds and serves it: stamped with who reported it, from the authenticated sender. */
export interface StoredFlow extends WireFlow {
  /** Region of the agent that recorded the flow. */
  readonly region: string;
  /** Node (agent) that recorded it. */
  readonly node: string;
}

export type FlowRefusal = 'malformed' | 'other_region' | 'too_many';

export interface FlowBatchCheck {
  readonly accepted: WireFlow[];
  /** Where each accepted record was in the batch. */
  readonly indexes: number[];
  readonly refused: Partial<Record<FlowRefusal, number>>;
  /** The first refusal's explanation, for the log. */
  readonly firstProblem?: string;
}

/**
 * Checks the records of one batch from a sender of `region`: each must parse,
 * and its own region's side must be the sender's (outbound: the source
 * region; inbound: the destination region; a side left out counts as the
 * sender's). At most `max` records are looked at.
 */
export function checkFlowBatch(records: unknown, region: string, max: number): FlowBatchCheck {
  const refused: Partial<Record<FlowRefusal, number>> = {};
  const accepted: WireFlow[] = [];
  const indexes: number[] = [];
  let firstProblem: string | undefined;
  const refuse = (why: FlowRefusal, problem: string, n = 1): void => {
    refused[why] = (refused[why] ?? 0) + n;
    firstProblem ??= problem;
  };
  if (!Array.isArray(records)) {
    refuse('malformed', `flows: expected a list of flow records, got ${records === null ? 'null' : typeof records}`);
    return { accepted, indexes, refused, ...(firstProblem ? { firstProblem } : {}) };
  }
  if (records.length > max) refuse('too_many', `${records.length} records in one batch; at most ${max} are taken`, records.length - max);
  for (let i = 0; i < Math.min(records.length, max); i++) {
    const parsed = wireFlowSchema.safeParse(records[i]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      refuse('malformed', `flow record field ${issue?.path.join('.') || '(record)'}: ${issue?.message ?? 'invalid'}`);
      continue;
    }
    const f = parsed.data;
    const own = f.direction === 'outbound' ? f.sourceRegion : f.destinationRegion;
    if (own !== undefined && own !== region) {
      refuse('other_region', `an ${f.direction} flow of region ${own} reported by region ${region}`);
      continue;
    }
    accepted.push(f);
    indexes.push(i);
  }
  return { accepted, indexes, refused, ...(firstProblem ? { firstProblem } : {}) };
}
