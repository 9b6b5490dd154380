// The inbound pipeline, assembled: every CONNECT stream a peer agent opens on
// an accepted mTLS session (server.ts checked its SVID) passes these layers
// top to bottom; each line says why it is there.
import type { DataplaneContext } from '../dataplane-context.js';
import { stack, type Service } from '../stack.js';
import type { InboundCall } from './call.js';
import type { DataplaneTag } from '../observe/flow-events.js';
import { observeInbound } from './observe.js';
import { respondInbound } from './respond.js';
import { decideService } from './decide-layer.js';
import { l4Connect } from './l4-connect.js';
import { InboundL7 } from './l7-http.js';

export interface InboundStack {
  readonly service: Service<InboundCall>;
  close(): void;
}

export function buildInbound(ctx: DataplaneContext, tag: DataplaneTag): InboundStack {
  // HTTP ports: each request is parsed, authorized and forwarded on its own (and recorded as its own flow).
  const l7 = new InboundL7(ctx, tag);
  const service = stack<InboundCall>()
    // Every stream, refused or not, becomes one flow event (HTTP streams: one per request instead).
    .push(observeInbound(tag, ctx.now))
    // The one place a stream's failure becomes a CONNECT status and a reason.
    .push(respondInbound())
    // Decide from the snapshot (workload, declared port, mode, policy), then carry: TCP to the app, or HTTP.
    .end(
      decideService(tag, {
        l4: (call, d) => l4Connect(ctx, call, d),
        l7: (call, d) => l7.accept(call, d),
        l7Request: (call, d) => l7.request(call, d),
      }),
    );
  return { service, close: () => l7.close() };
}
