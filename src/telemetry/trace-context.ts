// W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
// header an agent reads from a request and the one it sends on. Each agent
// starts a span per proxied request, a child of the span the request came
// with, and passes its own span on as the parent of the next hop, so a call's
// spans chain app → source agent → destination agent → app.
import { randomFillSync } from 'node:crypto';

export interface TraceIds {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits: this span. */
  readonly spanId: string;
  /** The span the request came with; absent for a root span. */
  readonly parentSpanId?: string;
  /** Recorded and exported (the traceparent's sampled flag, sent on as it was decided). */
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export interface ParsedTraceparent {
  readonly traceId: string;
  readonly parentId: string;
  readonly sampled: boolean;
}

/**
 * A traceparent value as the specification reads it: version ff is invalid;
 * version 00 has exactly four fields; a later version may carry more after a
 * dash, which is ignored; all-zero IDs are invalid. Invalid: undefined, and
 * the agent starts a new trace (as the specification says a vendor must).
 */
export function parseTraceparent(value: unknown): ParsedTraceparent | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string' || v.length > 512) return undefined;
  const m = TRACEPARENT.exec(v.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ids: TraceIds): string {
  return `00-${ids.traceId}-${ids.spanId}-${ids.sampled ? '01' : '00'}`;
}

// Random IDs from a pool refilled 4 KB at a time: one crypto call per 256 span IDs on the hot path.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE) id = randomHex(16);
  return id;
}

/** A span that continues the request's trace, or starts one (sampled as `sampleRoot` decides). */
export function childOf(parent: ParsedTraceparent | undefined, sampleRoot: () => boolean): TraceIds {
  if (parent) return { traceId: parent.traceId, spanId: newSpanId(), parentSpanId: parent.parentId, sampled: parent.sampled };
  return { traceId: newTraceId(), spanId: newSpanId(), sampled: sampleRoot() };
}
