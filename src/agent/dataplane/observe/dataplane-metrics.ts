// Prometheus metrics of the data plane, registered on the registry the caller
// passes in. Metrics already on that registry (a second data plane in the same
// process) are reused rather than registered twice.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createGoldenMetrics, type GoldenMetrics } from './golden-metrics.js';

export interface DataplaneMetrics {
  readonly streams: Counter<'direction' | 'verdict'>;
  readonly requests: Counter<'verdict'>;
  readonly activeStreams: Gauge;
  readonly poolSessions: Gauge;
  readonly tlsSessions: Counter<'side'>;
  readonly handshakeFailures: Counter<'reason'>;
  readonly refusedConnections: Counter<'reason'>;
  readonly inboundRefusals: Counter<'reason'>;
  readonly refusedStreams: Counter<'reason'>;
  readonly inboundSessionErrors: Counter<'reason'>;
  readonly workloadConnections: Gauge<'workload'>;
  readonly bytes: Counter<'direction'>;
  readonly attestations: Histogram<'need' | 'outcome'>;
  readonly attestationLookupPath: Gauge<'path'>;
  readonly retries: Counter<'service' | 'kind'>;
  /** Connections to a data service's read-only name sent to its primary: the caller wrote within stickyAfterWrite. */
  readonly stickyReads: Counter<'route'>;
  readonly dataCalls: Counter<'route' | 'kind' | 'to'>;
  readonly writeTokens: Counter<'route' | 'result'>;
  readonly ejections: Counter<'service'>;
  /** Requests, latency and bytes by source and destination (golden-metrics.ts). */
  readonly golden: GoldenMetrics;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

function gauge<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function createDataplaneMetrics(registry: Registry): DataplaneMetrics {
  return {
    golden: createGoldenMetrics(registry),
    streams: counter(registry, 'entente_agent_streams_total', 'Mesh streams (app connections) by direction and verdict', ['direction', 'verdict']),
    requests: counter(registry, 'entente_agent_l7_requests_total', 'HTTP requests authorized one by one on L7 services', ['verdict']),
    activeStreams: gauge(registry, 'entente_agent_active_streams', 'Mesh streams open now, both directions'),
    poolSessions: gauge(registry, 'entente_agent_pool_sessions', 'Pooled outbound mTLS HTTP/2 sessions connected now'),
    tlsSessions: counter(registry, 'entente_agent_tls_sessions_total', 'Completed mTLS handshakes (client: pool sessions opened; server: peers accepted)', ['side']),
    handshakeFailures: counter(registry, 'entente_agent_tls_handshake_failures_total', 'mTLS handshakes refused or failed, by reason', ['reason']),
    refusedConnections: counter(registry, 'entente_agent_refused_connections_total', 'Local app connections refused before reaching the mesh, by reason', ['reason']),
    inboundRefusals: counter(registry, 'entente_agent_inbound_refusals_total', 'Inbound CONNECT streams and HTTP requests refused by the destination agent, by reason', ['reason']),
    refusedStreams: counter(registry, 'entente_agent_refused_streams_total', 'Inbound CONNECT streams or L7 requests refused by a limit, by reason', ['reason']),
    inboundSessionErrors: counter(registry, 'entente_agent_inbound_session_errors_total', 'Inbound mesh sessions ended by an HTTP/2 error (e.g. a peer over the stream limit), by reason', ['reason']),
    workloadConnections: gauge(registry, 'entente_agent_workload_connections', 'Concurrent app connections per destination workload at the inbound agent (the bulkhead)', ['workload']),
    bytes: counter(registry, 'entente_agent_bytes_total', 'Application bytes carried, both ways, by direction of the flow', ['direction']),
    attestations: histogram(
      registry,
      'entente_agent_attestation_seconds',
      'Caller attestation lookups (one per app connection whose Workload declares selectors), by what was needed (socket owner or process) and outcome',
      ['need', 'outcome'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    ),
    stickyReads: counter(registry, 'entente_agent_sticky_reads_total', "Connections to a data service's read-only name sent to the primary because the same caller wrote within stickyAfterWrite, by DataRoute", ['route']),
    dataCalls: counter(registry, 'entente_agent_data_calls_total', 'Calls to an HTTP data service, by DataRoute, kind (write, read, token_read, bad_token, unclassified) and where they went (primary, replica, none)', ['route', 'kind', 'to']),
    writeTokens: counter(registry, 'entente_agent_write_tokens_total', "Writes to a local member of an HTTP data service answered with a consistency token (result issued), or without one because the member's position could not be read (failed)", ['route', 'result']),
    retries: counter(registry, 'entente_agent_retries_total', 'Extra attempts of outbound calls, by destination service and kind (failover: the session could not be set up; retry: the request failed and was sent again)', ['service', 'kind']),
    ejections: counter(registry, 'entente_agent_outlier_ejections_total', 'Endpoints taken out of rotation by outlier detection, by destination service', ['service']),
    attestationLookupPath: gauge(
      registry,
      'entente_agent_attestation_socket_lookup',
      'How the built-in attestor finds a caller socket\'s owner: 1 on the path in use (sock_diag: one netlink request; proc_net_tcp: a read of every TCP socket of the host)',
      ['path'],
    ),
  };
}
