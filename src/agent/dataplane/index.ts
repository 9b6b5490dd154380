// The agent's data plane: the parts both directions share (snapshot, TLS
// contexts, the session pool, flow subscribers), the two pipelines
// (outbound/index.ts, inbound/index.ts) and the ports that feed them.
// Everything decides from the current snapshot, swapped whole by setSnapshot;
// nothing here parses config or talks to the controller.
import type { Tracing } from './observe/tracing.js';
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/log.js';
import type { SocketAddress } from '../../core/address.js';
import { EntenteError } from '../../core/errors.js';
import type { CredentialProvider, DataplaneSnapshot } from './dataplane-snapshot.js';
import { DEFAULT_TUNING, type AttestationOptions, type DataplaneContext, type DataplaneTuning } from './dataplane-context.js';
import { createDataplaneMetrics, type DataplaneMetrics } from './observe/dataplane-metrics.js';
import { RateLimitedLog } from '../../core/rate-limited-log.js';
import { TlsContexts } from './tls-contexts.js';
import { WorkloadBulkhead } from './inbound/workload-bulkhead.js';
import { ConnectPool } from './outbound/pool/connect-pool.js';
import { newlyCutDials } from './outbound/pool/cut-paths.js';
import { buildOutbound } from './outbound/index.js';
import type { BalancerView } from './outbound/balance/balancer.js';
import { buildInbound } from './inbound/index.js';
import { servicePortEntry } from './outbound/entry/service-port.js';
import { startInboundServer, type InboundServer } from './inbound/server.js';
import { OutboundListeners } from './outbound/entry/listeners.js';
import { startHttpProxy, type HttpProxy } from './outbound/entry/proxy-server.js';
import type { FlowRecord } from './observe/flow-record.js';
import { newDataplaneTag, type DataplaneTag } from './observe/flow-events.js';
import { attachSubscribers } from './observe/flow-subscribers.js';
import type { Attestor } from '../attest/attestor.js';
import { systemAttestor } from '../attest/system-attestor.js';
import { ConnectionAttestations } from '../attest/connection-attestations.js';

export type { FlowRecord } from './observe/flow-record.js';
export type { DataplaneTuning } from './dataplane-context.js';
export type { DataplaneTag, FlowStartEvent, FlowDecisionEvent, FlowEndEvent } from './observe/flow-events.js';
export { FLOW_START_CHANNEL, FLOW_DECISION_CHANNEL, FLOW_END_CHANNEL, subscribeFlows } from './observe/flow-events.js';
export type * from './dataplane-snapshot.js';

export interface DataplaneOptions {
  /** The mesh port peer agents (and gateways) dial: mTLS + HTTP/2 CONNECT. */
  readonly inbound: SocketAddress;
  /** Optional HTTP proxy port for local apps (CONNECT and absolute-URI requests). */
  readonly httpProxy?: SocketAddress;
  readonly snapshot: DataplaneSnapshot;
  readonly credentials: CredentialProvider;
  readonly log: Logger;
  readonly registry: Registry;
  /** Called once per stream (L4) or request (L7); never awaited. */
  readonly onFlow?: (f: FlowRecord) => void;
  readonly tuning?: Partial<DataplaneTuning>;
  readonly now?: () => number;
  /** Who owns an app connection's socket (default: the Linux /proc attestor). */
  readonly attestor?: Attestor;
  readonly attestation?: Partial<AttestationOptions>;
  /** Names this data plane in the flow events it publishes (default "dataplane"). */
  readonly label?: string;
  /** Spans for proxied HTTP requests (src/telemetry/agent-telemetry.ts). */
  readonly tracing?: Tracing;
}

/** One outbound destination's balancing, as the agent's /balancers shows it. */
export type DestinationBalance = { readonly destination: string } & BalancerView;

export interface Dataplane {
  /** Its flow events carry this tag (subscribeFlows). */
  readonly tag: DataplaneTag;
  readonly inboundAddress: SocketAddress;
  readonly httpProxyAddress: SocketAddress | undefined;
  /** Swaps the snapshot in; resolves once outbound listeners match it. */
  setSnapshot(s: DataplaneSnapshot): Promise<void>;
  /** Mesh "host:port" -> the local listener address that reaches it. */
  outboundAddresses(): Map<string, SocketAddress>;
  /** Pooled outbound sessions right now (connected or connecting). */
  poolSize(): number;
  /** Each outbound destination's pick order, ejections and slow start shares (the agent's /balancers). */
  balancing(): readonly DestinationBalance[];
  close(): Promise<void>;
}

export async function startDataplane(opts: DataplaneOptions): Promise<Dataplane> {
  const tuning = checkTuning({ ...DEFAULT_TUNING, ...opts.tuning });
  const metrics = createDataplaneMetrics(opts.registry);
  const attestor = opts.attestor ?? defaultAttestor(opts.log, metrics);
  const tag = newDataplaneTag(opts.label ?? 'dataplane');
  const ctx: DataplaneContext = {
    tag,
    state: { current: opts.snapshot },
    credentials: opts.credentials,
    log: opts.log,
    refusals: new RateLimitedLog(opts.log),
    metrics,
    tuning,
    // Each L4 stream and each in-flight L7 request holds an app connection: cap them per workload.
    bulkhead: new WorkloadBulkhead(tuning.maxConnectionsPerWorkload, metrics.workloadConnections),
    now: opts.now ?? Date.now,
    // Callers whose Workload declares selectors: their process, looked up once per connection.
    attestations: new ConnectionAttestations(attestor, (need, outcome, seconds) => metrics.attestations.observe({ need, outcome: outcome.kind }, seconds)),
    attestation: { requireSelectors: opts.attestation?.requireSelectors ?? false },
    ...(opts.tracing ? { tracing: opts.tracing } : {}),
  };
  // Metrics, refusal logs and the flow sink follow the flow events.
  const detach = attachSubscribers(tag, { metrics, refusals: ctx.refusals, log: opts.log, sink: opts.onFlow });
  // SVIDs and CA pools as TLS contexts, rebuilt when credentials or trust change.
  const contexts = new TlsContexts(opts.credentials);
  // One pooled mTLS session per (source identity, destination): no handshake per app connection.
  const pool = new ConnectPool(ctx, contexts);
  const outboundStack = buildOutbound(ctx, tag, pool);
  const inboundStack = buildInbound(ctx, tag);
  let inbound: InboundServer | undefined;
  // Per-service local ports: the L4 fast path for apps.
  const outbound = new OutboundListeners(ctx, servicePortEntry(ctx, outboundStack.service));
  // The HTTP proxy port: CONNECT and absolute URIs, for apps that speak proxy.
  let proxy: HttpProxy | undefined;

  const closeAll = async (): Promise<void> => {
    pool.close();
    inboundStack.close();
    await Promise.all([inbound?.close(), outbound.close(), proxy?.close()]);
    detach();
  };
  try {
    inbound = await startInboundServer(ctx, contexts, inboundStack.service, opts.inbound);
    await outbound.reconcile(opts.snapshot.outboundPorts);
    if (opts.httpProxy) proxy = await startHttpProxy(ctx, outboundStack.service, opts.httpProxy);
  } catch (err) {
    await closeAll();
    throw err;
  }
  const inboundServer = inbound;
  let closing: Promise<void> | undefined;
  return {
    tag,
    inboundAddress: inboundServer.address,
    httpProxyAddress: proxy?.address,
    setSnapshot(next) {
      const prev = ctx.state.current;
      ctx.state.current = next;
      inboundServer.snapshotChanged(prev, next);
      contexts.prune(next);
      outboundStack.balancers.observeRegions();
      const cut = newlyCutDials(prev, next);
      if (cut.size > 0) {
        const n = pool.dropDials(cut);
        if (n > 0) ctx.log.info({ dials: [...cut], sessions: n }, 'direct paths found unreachable by gateway probes: their sessions must answer a ping or are closed, and traffic fails over');
      }
      return outbound.reconcile(next.outboundPorts);
    },
    outboundAddresses: () => outbound.addresses(),
    poolSize: () => pool.size(),
    balancing: () => outboundStack.balancers.describe(),
    close() {
      closing ??= closeAll().finally(() => ctx.refusals.flush());
      return closing;
    },
  };
}

/** Limits must be positive integers: a zero or NaN cap would refuse everything (or nothing) silently. */
function checkTuning(t: DataplaneTuning): DataplaneTuning {
  const positive: Array<keyof DataplaneTuning> = ['connectTimeoutMs', 'handshakeTimeoutMs', 'maxStreamsPerSession', 'maxConnectionsPerWorkload', 'streamWindowBytes', 'sessionWindowBytes'];
  const bad = positive.filter((k) => !Number.isInteger(t[k]) || t[k] <= 0).map((k) => `${k}=${String(t[k])}`);
  if (bad.length > 0) {
    throw new EntenteError('DATAPLANE_BAD_TUNING', `data plane tuning out of range: ${bad.join(', ')}`, { hint: 'limits and timeouts are positive integers (milliseconds, counts or bytes)' });
  }
  return t;
}

/** The host's attestor; a fallback to /proc/net/tcp is said once at start-up (it is a property of the install, not of a caller). */
function defaultAttestor(log: Logger, metrics: DataplaneMetrics): Attestor {
  const sys = systemAttestor();
  for (const path of ['sock_diag', 'proc_net_tcp'] as const) metrics.attestationLookupPath.set({ path }, path === sys.path ? 1 : 0);
  if (sys.fallbackReason !== undefined) {
    log.warn({ reason: sys.fallbackReason }, 'workload attestation reads /proc/net/tcp (every TCP socket of the host) for each caller, which is much slower under many new connections: the sock_diag addon is not usable');
  }
  return sys.attestor;
}
