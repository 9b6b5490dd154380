// Names that travel on the wire between agents and to apps, in one place so a
// rename cannot leave one side behind.

/** On a refusal (CONNECT answer or HTTP response): why, in one printable line. */
export const DENY_REASON_HEADER = 'x-entente-deny-reason';

/** On a refusal by an agent (not by the app): its stable failure code, so the calling agent can tell the two apart. */
export const REFUSAL_CODE_HEADER = 'x-entente-refusal';

/** The caller's verified identity as an app in HTTP mode receives it (Envoy's XFCC form). */
export const XFCC_HEADER = 'x-forwarded-client-cert';

/**
 * A caller's deadline for one HTTP request through the proxy port, in
 * milliseconds ("250") or as a duration ("250ms", "2s"); it can only shorten
 * the TrafficPolicy's request timeout, never lengthen it.
 */
export const TIMEOUT_HEADER = 'x-entente-timeout';

/** gRPC's own deadline header ("<digits><H|M|S|m|u|n>", gRPC over HTTP/2 spec). */
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';

/** The HTTP/2 method of a byte stream between agents (HBONE); any other method is one HTTP request to an http port. */
export const MESH_METHOD = 'CONNECT';
