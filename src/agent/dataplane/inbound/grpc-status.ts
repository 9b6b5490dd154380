// gRPC calls end with a gRPC status, also when the agent refuses or fails one:
// the agent's HTTP status for the outcome maps to a gRPC code (after gRPC's own
// "HTTP to gRPC status code mapping", with the agent's timeouts as
// DEADLINE_EXCEEDED), sent as a trailers-only response.
import type { OutgoingHttpHeaders } from 'node:http2';

/** The gRPC codes the agent itself produces (grpc/doc/statuscodes.md). */
export const GrpcCode = {
  OK: 0,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/**
 * The agent's outcome, as the HTTP status it answers plain HTTP callers with
 * (docs/dataplane.md "Failure statuses"), to the gRPC code a gRPC caller gets.
 * 503 (the workload's connection limit) is UNAVAILABLE, not
 * RESOURCE_EXHAUSTED: it is the mesh shedding load, which clients may retry.
 */
export function grpcCodeForAgentStatus(status: number): GrpcCode {
  switch (status) {
    case 400:
      return GrpcCode.INTERNAL;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
    case 405:
      return GrpcCode.UNIMPLEMENTED;
    case 500:
      return GrpcCode.INTERNAL;
    case 502:
    case 503:
      return GrpcCode.UNAVAILABLE;
    case 504:
      return GrpcCode.DEADLINE_EXCEEDED;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** application/grpc, application/grpc+proto, application/grpc-web...: the caller reads statuses from trailers. */
export function isGrpcContentType(contentType: unknown): boolean {
  return typeof contentType === 'string' && contentType.toLowerCase().startsWith('application/grpc');
}

/**
 * grpc-message is percent-encoded over its UTF-8 bytes: every byte outside
 * 0x20-0x7E, and "%" itself, becomes %XX (the gRPC HTTP/2 protocol spec).
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The headers of a trailers-only response: HTTP 200, the status in the (only) HEADERS frame. */
export function grpcTrailersOnly(code: GrpcCode, message: string, contentType: unknown): OutgoingHttpHeaders {
  return {
    ':status': 200,
    'content-type': isGrpcContentType(contentType) ? String(contentType) : 'application/grpc',
    'grpc-status': String(code),
    // Long reasons are cut: the message travels in a header.
    'grpc-message': encodeGrpcMessage(message.length > 1000 ? `${message.slice(0, 997)}...` : message),
  };
}

/** grpc-status of a response's trailers (or of a trailers-only response's headers); undefined when absent or malformed. */
export function grpcStatusOf(headers: Record<string, unknown> | undefined): number | undefined {
  const v = headers?.['grpc-status'];
  if (typeof v !== 'string' || !/^\d{1,2}$/.test(v)) return undefined;
  return Number(v);
}

const TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * A grpc-timeout header ("<1-8 digits><H|M|S|m|u|n>", gRPC over HTTP/2 spec) in
 * milliseconds, rounded up so a short deadline is never 0; undefined when
 * absent or malformed (a malformed deadline is ignored, as grpc-go does).
 */
export function parseGrpcTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Math.max(1, Math.ceil(Number(m[1]) * TIMEOUT_UNITS_MS[m[2]!]!));
}
