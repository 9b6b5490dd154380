// Header rewriting for HTTP/2 requests in HTTP mode: the same rules as
// l7-headers.ts (hop-by-hop headers dropped, every caller-sent copy of our
// identity header replaced by ours), plus HTTP/2's own: pseudo-headers are
// rebuilt by the agent, and "te: trailers" (the one TE HTTP/2 allows, and gRPC
// needs) passes on to an h2c app.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { appRequestHeaders, appResponseHeaders, endToEndHeaders } from '../http-headers.js';

/** The regular (non-pseudo) headers of an HTTP/2 header block. */
function regular(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':')) out[name] = value;
  return out;
}

function wantsTrailers(te: unknown): boolean {
  return typeof te === 'string' && te.split(',').some((t) => t.trim().toLowerCase() === 'trailers');
}

/** Request headers for an h2c app: :path is the checked target, never the caller's. */
export function h2AppRequestHeaders(headers: IncomingHttpHeaders, target: string, destination: string, caller: string): OutgoingHttpHeaders {
  const out = appRequestHeaders(regular(headers), destination, caller);
  if (wantsTrailers(headers.te)) out.te = 'trailers';
  return {
    ':method': headers[':method'],
    ':path': target,
    ':scheme': headers[':scheme'] ?? 'http',
    ...(headers[':authority'] !== undefined ? { ':authority': headers[':authority'] } : {}),
    ...out,
  };
}

/** Request headers for an HTTP/1.1 app when the caller spoke HTTP/2: :authority becomes Host. */
export function h1AppRequestHeadersFromH2(headers: IncomingHttpHeaders, destination: string, caller: string): OutgoingHttpHeaders {
  const out = appRequestHeaders(regular(headers), destination, caller);
  if (out.host === undefined && headers[':authority'] !== undefined) out.host = headers[':authority'];
  return out;
}

/** A response (from either kind of app) to an HTTP/2 caller. */
export function h2ResponseHeaders(status: number, headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return { ':status': status, ...appResponseHeaders(regular(headers)) };
}

/** Trailers to pass on (gRPC's grpc-status and grpc-message among them). */
export function h2Trailers(trailers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return endToEndHeaders(regular(trailers));
}
