// Opens an HTTP/2 CONNECT stream towards a mesh service for one app
// connection: endpoints in picker order, failing over to the next when a peer
// agent cannot be reached; and records the outbound flow when it ends.
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { describeError } from '../../core/errors.js';
import { formatSocketAddress } from '../../core/address.js';
import type { DataplaneSnapshot, Endpoint, LocalWorkload, WorkloadCredentials } from './dataplane-snapshot.js';
import type { DataplaneContext } from './dataplane-context.js';
import type { ConnectPool } from './connect-pool.js';
import { orderEndpoints } from './endpoint-picker.js';
import { emitFlow, type FlowVerdict } from './flow-record.js';

export const DENY_REASON_HEADER = 'x-entente-deny-reason';

export interface OutboundCall {
  readonly workload: LocalWorkload;
  readonly creds: WorkloadCredentials;
  /** "namespace/name". */
  readonly service: string;
  readonly port: number;
  readonly endpoints: readonly Endpoint[];
  /** Round-robin key: the mesh host:port. */
  readonly target: string;
  readonly start: number;
  /** The caller's process was attested against its Workload's selectors (false: identified by address only). */
  readonly attested: boolean;
}

export type OpenResult = { kind: 'open'; stream: ClientHttp2Stream; endpoint: Endpoint } | { kind: 'error'; reason: string };

/** What the destination agent answered to the CONNECT (status 0: no answer). */
export interface ConnectAnswer {
  readonly status: number;
  readonly reason?: string;
}

function ignoreError(): void {
  /* see MeshConnector.open */
}

export function verdictForStatus(status: number): FlowVerdict {
  if (status >= 200 && status < 300) return 'allow';
  if (status === 403) return 'deny';
  return 'error';
}

/** Resolves with the CONNECT response, or status 0 when the stream ends without one. */
export function connectAnswer(stream: ClientHttp2Stream): Promise<ConnectAnswer> {
  return new Promise((resolve) => {
    const onResponse = (h: IncomingHttpHeaders): void => {
      cleanup();
      const reason = h[DENY_REASON_HEADER];
      resolve({ status: Number(h[':status'] ?? 0), reason: typeof reason === 'string' ? reason : undefined });
    };
    const onEnd = (err?: Error): void => {
      cleanup();
      resolve({ status: 0, reason: err ? describeError(err) : `stream closed before an answer (code ${stream.rstCode ?? 'none'})` });
    };
    const onClose = (): void => onEnd();
    const cleanup = (): void => {
      stream.off('response', onResponse);
      stream.off('error', onEnd);
      stream.off('close', onClose);
    };
    stream.on('response', onResponse);
    stream.on('error', onEnd);
    stream.on('close', onClose);
  });
}

export class MeshConnector {
  /** Round-robin turns per mesh host:port (bounded by the number of routes). */
  private readonly turns = new Map<string, number>();

  constructor(private readonly ctx: DataplaneContext, private readonly pool: ConnectPool) {}

  async open(snapshot: DataplaneSnapshot, call: OutboundCall): Promise<OpenResult> {
    const turn = this.turns.get(call.target) ?? 0;
    this.turns.set(call.target, (turn + 1) % 1_000_000);
    const failures: string[] = [];
    for (const endpoint of orderEndpoints(call.endpoints, turn)) {
      // Two tries per endpoint: a pooled session may close between lookup and use,
      // or turn out to allow fewer streams than we assumed while it connected.
      for (let attempt = 0; attempt < 2; attempt++) {
        const got = this.pool.acquire(snapshot, call.creds, endpoint);
        if (got.kind === 'refuse') {
          failures.push(`${endpoint.spiffeId}: ${got.reason}`);
          break;
        }
        const { entry } = got;
        if (!entry.connected) {
          try {
            await entry.ready;
          } catch (err) {
            this.pool.release(entry);
            failures.push(describeError(err));
            break;
          }
          if (!this.pool.hasRoom(entry)) {
            // The peer's SETTINGS allow fewer streams: take a slot on another session rather than queue in nghttp2.
            this.pool.release(entry);
            failures.push(`${formatSocketAddress(endpoint.dial)}: session full (peer allows ${entry.session.remoteSettings?.maxConcurrentStreams} streams)`);
            continue;
          }
        }
        try {
          const stream = entry.session.request({ ':method': 'CONNECT', ':authority': endpoint.authority }, { endStream: false });
          // Whoever carries the stream handles its errors; this keeps a late reset
          // (after a refusal, when nobody listens any more) from being an uncaught error.
          stream.on('error', ignoreError);
          // Two pipelines, the answer watcher and the pool's tracker legitimately exceed Node's default of 10.
          stream.setMaxListeners(32);
          this.pool.track(entry, stream);
          return { kind: 'open', stream, endpoint };
        } catch (err) {
          this.pool.release(entry);
          failures.push(`${formatSocketAddress(endpoint.dial)}: ${describeError(err)}`);
        }
      }
    }
    const tried = call.endpoints.length;
    return { kind: 'error', reason: `${call.service} port ${call.port}: ${tried} endpoint(s) unreachable: ${failures.join('; ')}` };
  }
}

export interface OutboundOutcome {
  readonly endpoint?: Endpoint;
  readonly verdict: FlowVerdict;
  readonly status?: number;
  readonly reason?: string;
  readonly method?: string;
  readonly path?: string;
  readonly bytesOut: number;
  readonly bytesIn: number;
}

/** Counts and records one outbound stream (or proxied request) once it is over. */
export function recordOutbound(ctx: DataplaneContext, snapshot: DataplaneSnapshot, call: Pick<OutboundCall, 'workload' | 'service' | 'port' | 'start' | 'attested'>, o: OutboundOutcome): void {
  ctx.metrics.streams.inc({ direction: 'outbound', verdict: o.verdict });
  const bytes = o.bytesIn + o.bytesOut;
  if (bytes > 0) ctx.metrics.bytes.inc({ direction: 'outbound' }, bytes);
  if (o.verdict !== 'allow') {
    // Denials are policy doing its job (info); failures need an operator's eye (warn).
    const deny = o.verdict === 'deny';
    ctx.refusals.write(deny ? 'info' : 'warn', deny ? 'policy_denied' : 'call_failed',
      { caller: call.workload.spiffeId.toString(), service: call.service, port: call.port, status: o.status, reason: o.reason }, `outbound call ${deny ? 'denied' : 'failed'}`);
  }
  if (!ctx.onFlow) return;
  emitFlow(
    ctx.onFlow,
    {
      time: call.start,
      direction: 'outbound',
      source: call.workload.spiffeId,
      attested: call.attested,
      destination: o.endpoint?.spiffeId,
      service: call.service,
      port: call.port,
      sourceRegion: snapshot.region,
      destinationRegion: o.endpoint?.region,
      verdict: o.verdict,
      reason: o.reason,
      method: o.method,
      path: o.path,
      status: o.status,
      bytesOut: o.bytesOut,
      bytesIn: o.bytesIn,
      durationMs: ctx.now() - call.start,
    },
    ctx.log,
  );
}
