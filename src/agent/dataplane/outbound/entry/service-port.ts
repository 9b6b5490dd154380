// Entry: a local app connection to a per-service outbound port (the L4 fast
// path). Everything but the socket is known from the listener; the call runs
// the outbound stack and its bytes are carried over the opened stream. A
// refusal closes the connection (there is no framing to say why: the flow
// record and the log do).
import type { Socket } from 'node:net';
import type { DataplaneContext } from '../../dataplane-context.js';
import type { Service } from '../../stack.js';
import { newCall, type OutboundCall } from '../call.js';
import { carryBytes } from './carry-bytes.js';

export type ServicePortEntry = (socket: Socket, host: string, port: number) => void;

export function servicePortEntry(ctx: DataplaneContext, outbound: Service<OutboundCall>): ServicePortEntry {
  return (socket, host, port) => {
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    // Bytes the app sends meanwhile wait in the socket until the splice reads them.
    const call = newCall({
      entry: 'port',
      socket,
      host,
      port,
      start: ctx.now(),
      snapshot: ctx.state.current,
      http: undefined,
      exchange: (opened) => carryBytes(ctx, socket, opened, call.traffic.idleTimeoutMs),
      refuse: () => socket.destroy(),
    });
    outbound(call).catch((err: unknown) => {
      socket.destroy();
      ctx.log.error({ err }, 'outbound call failed unexpectedly');
    });
  };
}
