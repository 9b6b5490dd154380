// Header rewriting for proxied HTTP/1.1 requests and responses: hop-by-hop
// headers never travel past a proxy, and the identity headers we set are set
// by us only: every caller-sent copy is dropped, in any case and with "_" for
// "-" (many app frameworks, CGI-style, read both spellings as one header).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { DENY_REASON_HEADER, REFUSAL_CODE_HEADER, XFCC_HEADER } from '../../mesh/wire-headers.js';

export { XFCC_HEADER };

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

/** Headers the agent sets in HTTP mode; an app may trust them (docs/dataplane.md). */
export const MESH_SET_REQUEST_HEADERS: ReadonlySet<string> = new Set([XFCC_HEADER]);

/** How apps may read a header name: case-insensitive, "_" as "-". Node has lower-cased it already. */
function readAs(name: string): string {
  return name.includes('_') ? name.replace(/_/g, '-') : name;
}

/** Request headers as the app receives them; traceparent/tracestate pass through unchanged. */
export function appRequestHeaders(headers: IncomingHttpHeaders, destination: string, caller: string): OutgoingHttpHeaders {
  const out = endToEndHeaders(headers);
  for (const name of Object.keys(out)) if (MESH_SET_REQUEST_HEADERS.has(readAs(name.toLowerCase()))) delete out[name];
  out[XFCC_HEADER] = xfccValue(destination, caller);
  return out;
}

/** Headers only agents may send in a response: an app's copy would pass for an agent's refusal. */
const MESH_SET_RESPONSE_HEADERS: ReadonlySet<string> = new Set([DENY_REASON_HEADER, REFUSAL_CODE_HEADER]);

/** An app's response headers as the caller receives them: end to end only, and none that speak for the mesh. */
export function appResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = endToEndHeaders(headers);
  for (const name of Object.keys(out)) if (MESH_SET_RESPONSE_HEADERS.has(readAs(name.toLowerCase()))) delete out[name];
  return out;
}
