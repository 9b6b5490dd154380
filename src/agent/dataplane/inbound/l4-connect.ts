// Inbound carrier for TCP ports: take a slot in the workload's bulkhead,
// connect to the app, answer the CONNECT 200 and copy bytes until both sides
// are done. Each failure before copying is one code (respond.ts says the status).
import { connect as netConnect } from 'node:net';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import type { DataplaneContext } from '../dataplane-context.js';
import type { InboundCall } from './call.js';
import type { L4Decision } from './decide-layer.js';
import { fail, type Outcome } from '../outcome.js';
import { splice } from '../splice.js';

export function l4Connect(ctx: DataplaneContext, call: InboundCall, d: L4Decision): Promise<Outcome> {
  const { stream } = call;
  const appAddress = formatSocketAddress({ host: d.workload.address, port: d.port });
  const slot = ctx.bulkhead.acquire(`${d.workload.namespace}/${d.workload.name}`);
  if (slot.kind === 'refuse') return Promise.resolve(fail('workload_connection_limit', slot.reason));
  ctx.metrics.activeStreams.inc();
  return new Promise((resolve) => {
    let phase: 'connecting' | 'copying' | 'done' = 'connecting';
    const app = netConnect({ host: d.workload.address, port: d.port, allowHalfOpen: true });
    const failWith = (o: Outcome): void => {
      if (phase !== 'connecting') return;
      phase = 'done';
      clearTimeout(timer);
      app.destroy();
      slot.release();
      ctx.metrics.activeStreams.dec();
      resolve(o);
    };
    const timer = setTimeout(() => failWith(fail('app_timeout', `app at ${appAddress} did not accept the connection within ${ctx.tuning.connectTimeoutMs} ms`)), ctx.tuning.connectTimeoutMs);
    app.on('error', (err) => {
      if (phase === 'connecting') failWith(fail('app_unreachable', `cannot reach the app at ${appAddress}: ${describeError(err)} (is it listening on its Workload address?)`));
    });
    stream.on('close', () => {
      if (phase === 'connecting') failWith(fail('client_closed', 'caller closed the stream before the app accepted'));
    });
    app.once('connect', () => {
      if (phase !== 'connecting') return;
      phase = 'copying';
      clearTimeout(timer);
      app.setNoDelay(true);
      try {
        stream.respond({ ':status': 200 });
      } catch {
        /* stream reset meanwhile; splice sees it closed */
      }
      splice(stream, app, (err) => {
        phase = 'done';
        slot.release();
        ctx.metrics.activeStreams.dec();
        if (err) ctx.log.debug({ err: describeError(err), app: appAddress }, 'inbound stream ended with an error');
        resolve({ kind: 'done', status: 200, bytesOut: app.bytesWritten, bytesIn: app.bytesRead });
      });
    });
  });
}
