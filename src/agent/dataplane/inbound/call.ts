// One inbound CONNECT stream as it passes down the inbound stack: the server
// builds it from an accepted session, the decide layer fills in the target
// and the policy that allowed it.
import type { ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { DataplaneSnapshot } from '../dataplane-snapshot.js';
import type { InboundContext, InboundPeer } from './decide.js';

export interface InboundCall {
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  /** The HEADERS frame's flags (END_STREAM: a request without a body). */
  readonly flags: number;
  readonly peer: InboundPeer;
  readonly start: number;
  readonly snapshot: DataplaneSnapshot;
  // Set by the decide layer.
  target: InboundContext | undefined;
  policy: string | undefined;
  rule: number | undefined;
  /** Set for an HTTP/2 request to an http port (one request, one flow): its method and normalized path. */
  method: string | undefined;
  path: string | undefined;
}
