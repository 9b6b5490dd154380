// Names that travel on the wire between agents and to apps, in one place so a
// rename cannot leave one side behind.

/** On a refusal (CONNECT answer or HTTP response): why, in one printable line. */
export const DENY_REASON_HEADER = 'x-entente-deny-reason';

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

/** The one HTTP/2 method peer agents use on the mesh port (HBONE). */
export const MESH_METHOD = 'CONNECT';
