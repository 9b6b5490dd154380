// Carries one local app connection to a mesh service as a CONNECT stream:
// admit the caller (source address, then its process if its Workload declares
// attest selectors), resolve the route, open the stream and copy bytes. App
// bytes are written right away (no wait for the answer); the answer only
// decides the flow's verdict. Shared by the per-service listeners and the
// HTTP proxy's CONNECT.
import type { Socket } from 'node:net';
import type { ClientHttp2Stream } from 'node:http2';
import type { DataplaneSnapshot, Endpoint } from './dataplane-snapshot.js';
import type { DataplaneContext } from './dataplane-context.js';
import { resolveTarget, type AdmitDecision } from './outbound-target.js';
import { admitCaller } from './admit-caller.js';
import { connectAnswer, recordOutbound, verdictForStatus, type ConnectAnswer, type MeshConnector, type OutboundCall } from './mesh-connector.js';
import { emitFlow } from './flow-record.js';
import { splice } from './splice.js';

export type OutboundPrepare = { kind: 'call'; call: OutboundCall } | { kind: 'refuse'; status: number; reason: string };

/** Counts, logs (rate limited) and records a refused caller. */
function refuseCaller(ctx: DataplaneContext, snapshot: DataplaneSnapshot, caller: Extract<AdmitDecision, { kind: 'refuse' }>, target: string, start: number): void {
  ctx.metrics.refusedConnections.inc({ reason: caller.refusal });
  const claimed = caller.workload ? `${caller.workload.namespace}/${caller.workload.name}` : undefined;
  ctx.refusals.warn(caller.refusal, { from: caller.address, target, ...(claimed ? { workload: claimed } : {}) }, caller.reason);
  if (!ctx.onFlow) return;
  emitFlow(
    ctx.onFlow,
    { time: start, direction: 'outbound', sourceAddress: caller.address, sourceRegion: snapshot.region, attested: false, verdict: 'deny', reason: caller.reason, bytesIn: 0, bytesOut: 0, durationMs: 0 },
    ctx.log,
  );
}

/** SVID and route for an admitted caller (decide before doing); a refused caller is counted and recorded here. */
export function prepareOutbound(ctx: DataplaneContext, snapshot: DataplaneSnapshot, caller: AdmitDecision, host: string, port: number): OutboundPrepare {
  const start = ctx.now();
  if (caller.kind === 'refuse') {
    refuseCaller(ctx, snapshot, caller, `${host}:${port}`, start);
    return { kind: 'refuse', status: 403, reason: caller.reason };
  }
  const { workload, attested } = caller;
  const target = resolveTarget(snapshot, host, port);
  const creds = ctx.credentials.credentialsFor(workload);
  if (target.kind === 'no-route' || !creds) {
    const reason = target.kind === 'no-route' ? target.reason : `workload ${workload.namespace}/${workload.name} has no valid SVID yet`;
    ctx.metrics.refusedConnections.inc({ reason: target.kind === 'no-route' ? 'no_route' : 'no_svid' });
    recordOutbound(ctx, snapshot, { workload, service: target.kind === 'route' ? target.service : host, port, start, attested }, { verdict: 'error', reason, bytesIn: 0, bytesOut: 0 });
    return { kind: 'refuse', status: 502, reason };
  }
  return { kind: 'call', call: { workload, creds, service: target.service, port, endpoints: target.endpoints, target: `${host}:${port}`, start, attested } };
}

/**
 * Splices an app socket with an opened stream and records the flow when both
 * directions are done. `base`: socket byte counts that are not app payload
 * (a proxy's CONNECT request and answer).
 */
export function carry(
  ctx: DataplaneContext,
  snapshot: DataplaneSnapshot,
  call: OutboundCall,
  socket: Socket,
  stream: ClientHttp2Stream,
  endpoint: Endpoint,
  answer: Promise<ConnectAnswer>,
  base = { read: 0, written: 0 },
): void {
  ctx.metrics.activeStreams.inc();
  let got: ConnectAnswer | undefined;
  void answer.then((a) => {
    got = a;
    // A refusal ends the app connection at once, even if the app keeps its side open.
    if (a.status !== 200) socket.destroy();
  });
  splice(socket, stream, () => {
    ctx.metrics.activeStreams.dec();
    const status = got?.status ?? 0;
    recordOutbound(ctx, snapshot, call, {
      endpoint,
      verdict: verdictForStatus(status),
      status,
      reason: got?.reason,
      bytesOut: Math.max(0, socket.bytesRead - base.read),
      bytesIn: Math.max(0, socket.bytesWritten - base.written),
    });
  });
}

/** The per-service listener path: everything but the socket is known from the listener. */
export function carryAppConnection(ctx: DataplaneContext, connector: MeshConnector, socket: Socket, host: string, port: number): void {
  socket.on('error', () => undefined);
  socket.setNoDelay(true);
  const snapshot = ctx.state.current;
  // Bytes the app sends meanwhile wait in the socket until the splice reads them.
  admitCaller(ctx, snapshot, socket)
    .then((caller) => {
      const prep = prepareOutbound(ctx, snapshot, caller, host, port);
      if (prep.kind === 'refuse' || socket.destroyed) {
        socket.destroy();
        return;
      }
      openAndCarry(ctx, connector, snapshot, prep.call, socket);
    })
    .catch((err: unknown) => {
      socket.destroy();
      ctx.log.error({ err }, 'outbound admission failed unexpectedly');
    });
}

function openAndCarry(ctx: DataplaneContext, connector: MeshConnector, snapshot: DataplaneSnapshot, call: OutboundCall, socket: Socket): void {
  connector.open(snapshot, call).then(
    (opened) => {
      if (opened.kind === 'error') {
        socket.destroy();
        recordOutbound(ctx, snapshot, call, { verdict: 'error', reason: opened.reason, bytesIn: 0, bytesOut: 0 });
        return;
      }
      const { stream, endpoint } = opened;
      if (socket.destroyed) {
        stream.close();
        return;
      }
      carry(ctx, snapshot, call, socket, stream, endpoint, connectAnswer(stream));
    },
    (err: unknown) => {
      socket.destroy();
      ctx.log.error({ err }, 'outbound connector failed unexpectedly');
    },
  );
}
