// Header rewriting for proxied HTTP/1.1 requests and responses: hop-by-hop
// headers never travel past a proxy, and the caller-identity header is set by
// us only (any incoming copy is dropped, so a caller cannot forge it).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

export const XFCC_HEADER = 'x-forwarded-client-cert';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Copies headers minus hop-by-hop ones, and minus any the Connection header lists. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Envoy's XFCC form: By=<the destination's identity>;URI=<the verified caller's identity>. */
export function xfccValue(destination: string, caller: string): string {
  return `By=${destination};URI=${caller}`;
}

/** Request headers as the app receives them; traceparent/tracestate pass through unchanged. */
export function appRequestHeaders(headers: IncomingHttpHeaders, destination: string, caller: string): OutgoingHttpHeaders {
  const out = endToEndHeaders(headers);
  delete out[XFCC_HEADER];
  out[XFCC_HEADER] = xfccValue(destination, caller);
  return out;
}
