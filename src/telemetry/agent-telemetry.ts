// The agent's telemetry: it decides each proxied request's span (W3C
// context, adaptive sampling), builds the span once the request's flow
// record is in, and exports spans, and flow records as OTLP log records when
// asked, through the lossless OTLP exporter (otlp-exporter.ts).
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { JsonLogsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../core/log.js';
import { ENTENTE_VERSION } from '../core/build-info.js';
import type { AgentConfig } from '../agent/agent-config.js';
import type { FlowRecord } from '../agent/dataplane/observe/flow-record.js';
import type { Tracing } from '../agent/dataplane/observe/tracing.js';
import { childOf, parseTraceparent } from './trace-context.js';
import { AdaptiveSampler } from './sampler.js';
import { flowSpan, SCOPE, spanAttributes } from './flow-spans.js';
import { OtlpExporter } from './otlp-exporter.js';

export type TelemetryConfig = NonNullable<AgentConfig['telemetry']>;

export interface AgentTelemetry {
  readonly tracing: Tracing;
  /** Every flow record, at its end. */
  onFlow(f: FlowRecord): void;
  start(): void;
  /** Writes what is in memory to the queue on disk. */
  stop(): Promise<void>;
}

/** Once the queue is more than this full, roots are sampled at a tenth of their rate (sampler.ts). */
const BACKOFF_ABOVE = 0.5;

export function createAgentTelemetry(cfg: TelemetryConfig, o: { region: string; node: string; dataDir: string; registry: Registry; log: Logger }): AgentTelemetry {
  const queueDir = cfg.otlp.queueDir ?? join(o.dataDir, 'otlp');
  const resource: Resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'entente-agent',
    [ATTR_SERVICE_VERSION]: ENTENTE_VERSION,
    'service.instance.id': o.node,
    'entente.region': o.region,
    'entente.node': o.node,
  });
  const common = {
    endpoint: cfg.otlp.endpoint,
    headers: cfg.otlp.headers,
    maxQueueBytes: cfg.otlp.maxQueueBytes,
    flushIntervalMs: cfg.otlp.flushInterval,
    maxBatch: 512,
    maxBuffered: 20_000,
    timeoutMs: cfg.otlp.timeout,
    registry: o.registry,
  };
  const spans = new OtlpExporter<ReadableSpan>({
    ...common,
    signal: { name: 'traces', serialize: (items) => JsonTraceSerializer.serializeRequest(items), rejectedIn: (b) => Number((b as { partialSuccess?: { rejectedSpans?: unknown } }).partialSuccess?.rejectedSpans ?? 0) || 0 },
    queueDir: join(queueDir, 'traces'),
    log: o.log.child({ part: 'otlp-traces' }),
  });
  const flows = cfg.otlp.flows
    ? new OtlpExporter<ReadableLogRecord>({
        ...common,
        signal: { name: 'logs', serialize: (items) => JsonLogsSerializer.serializeRequest(items), rejectedIn: (b) => Number((b as { partialSuccess?: { rejectedLogRecords?: unknown } }).partialSuccess?.rejectedLogRecords ?? 0) || 0 },
        queueDir: join(queueDir, 'logs'),
        log: o.log.child({ part: 'otlp-logs' }),
      })
    : undefined;
  const sampler = new AdaptiveSampler({ rootsPerSecond: cfg.sampling.rootsPerSecond, maxSpansPerSecond: cfg.sampling.maxSpansPerSecond, backoffAbove: BACKOFF_ABOVE }, () => spans.queue.fill());
  const dropped = (o.registry.getSingleMetric('entente_telemetry_items_dropped_total') as Counter<'signal' | 'reason'> | undefined)!;
  const scope = { ...SCOPE };

  return {
    tracing: { begin: (traceparent) => childOf(parseTraceparent(traceparent), () => sampler.sampleRoot()) },
    onFlow(f) {
      if (f.traceId !== undefined && f.spanId !== undefined && f.sampled) {
        if (sampler.admit()) spans.add(flowSpan(f, { traceId: f.traceId, spanId: f.spanId, ...(f.parentSpanId !== undefined ? { parentSpanId: f.parentSpanId } : {}), sampled: true }, resource));
        else dropped.inc({ signal: 'traces', reason: 'rate_limit' });
      }
      if (flows) {
        const t: [number, number] = [Math.floor(f.time / 1000), (f.time % 1000) * 1_000_000];
        flows.add({
          hrTime: t,
          hrTimeObserved: t,
          ...(f.traceId !== undefined && f.spanId !== undefined ? { spanContext: { traceId: f.traceId, spanId: f.spanId, traceFlags: f.sampled ? 1 : 0 } } : {}),
          severityText: f.verdict === 'allow' ? 'INFO' : 'WARN',
          severityNumber: f.verdict === 'allow' ? 9 : 13,
          eventName: 'entente.flow',
          body: `${f.verdict} ${f.direction} ${f.source?.toString() ?? f.sourceAddress ?? 'unknown'} -> ${f.service ?? 'unknown'}`,
          resource,
          instrumentationScope: scope,
          attributes: { ...spanAttributes(f), 'entente.duration_ms': f.durationMs },
          droppedAttributesCount: 0,
        });
      }
    },
    start() {
      spans.start();
      flows?.start();
    },
    async stop() {
      await Promise.all([spans.stop(), flows?.stop()]);
    },
  };
}
