// What an L7 stream gets when its protocol does not fit its port: an
// HTTP/1.x caller on a `protocol: http2` port (the app speaks h2c only) is
// answered 505 with the reason, counted and recorded, and closed.
import type { Duplex } from 'node:stream';
import type { DataplaneContext } from '../dataplane-context.js';
import type { InboundPeer } from './decide.js';
import { recordInbound } from './observe.js';
import type { L7Target } from './l7-gate.js';
import { endWithRefusal } from './raw-http1-response.js';

export function refuseHttp1OnHttp2Port(ctx: DataplaneContext, view: Duplex, peer: InboundPeer, target: L7Target): void {
  const start = ctx.now();
  const reason = `port ${target.servicePort} of Service ${target.service.namespace}/${target.service.name} is declared protocol: http2 (the app speaks h2c); call it with HTTP/2 (prior knowledge), e.g. curl --http2-prior-knowledge or a gRPC client`;
  endWithRefusal(view, 505, reason);
  recordInbound(ctx, peer, start, { verdict: 'deny', code: 'http1_on_http2_port', target, reason, status: 505, bytesOut: 0, bytesIn: 0 });
}
