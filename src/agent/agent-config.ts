// agent.yaml: one agent per node or device.
import * as z from 'zod';
import { WHEN_MAPPING, checkEnrollmentKeys, checkListeners, zAddress, zDnsLabel, zDurationMs, zControllerUrls } from '../core/config-types.js';

export const agentConfigSchema = z.strictObject({
  node: zDnsLabel,
  /** The region controller's agent API: one URL, or one per controller replica. */
  controller: zControllerUrls,
  /** One-time join token (only needed until the agent has enrolled; its state then lives in dataDir). */
  joinToken: z.string().optional(),
  joinTokenFile: z.string().optional(),
  /**
   * Enroll with this projected service-account token instead (Kubernetes: a
   * DaemonSet cannot hand each pod a join token). Read again at every
   * enrollment attempt: the kubelet rotates it.
   */
  kubernetesTokenFile: z.string({ error: 'a file path' }).min(1, 'a file path').optional(),
  /** The region CA (PEM, the controller's <dataDir>/ca.pem): required with kubernetesTokenFile, to authenticate the controller before the token is sent. */
  controllerCaFile: z.string({ error: 'a file path' }).min(1, 'a file path').optional(),
  dataDir: z.string({ error: 'a directory path' }).min(1, 'a directory path'),
  listen: z.strictObject({
    /** mTLS listener for other agents and gateways (HTTP/2 CONNECT). */
    inbound: zAddress,
    /** Local HTTP proxy for apps (CONNECT and absolute-URI requests). */
    httpProxy: zAddress.optional(),
    /** Prometheus metrics and status (plain HTTP; keep it on loopback). */
    metrics: zAddress.optional(),
  }),
  /** Address other nodes dial for `inbound` (default: the listen address). */
  advertise: zAddress.optional(),
  /** Caller attestation (docs/security.md "Workload attestation"). */
  attestation: z
    .strictObject({
      /** Refuse callers whose Workload declares no attest selectors, instead of identifying them by address only. */
      requireSelectors: z.boolean('true or false').default(false),
    })
    .default({ requireSelectors: false }),
  /** Per-service local ports: the L4 fast path for any TCP protocol. */
  outboundPorts: z
    .array(z.strictObject({ host: z.string().regex(/^[a-z0-9.-]+\.mesh$/, 'a mesh host such as "catalog.shop.mesh"'), port: z.number().int().min(1).max(65535), listen: zAddress }))
    .default([]),
  /** Data plane limits (docs/security.md "Limits" says why each default). */
  limits: z
    .strictObject({
      /** A peer must complete the mTLS handshake on the inbound port within this time. */
      handshakeTimeout: zDurationMs.default(10_000),
      /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per mesh session. */
      maxStreamsPerSession: z.number().int().min(1).max(65_535).default(100),
      /** Concurrent app connections (L4 streams, in-flight L7 requests) per destination workload. */
      maxConnectionsPerWorkload: z.number().int().min(1).max(1_000_000).default(1024),
    })
    .default({ handshakeTimeout: 10_000, maxStreamsPerSession: 100, maxConnectionsPerWorkload: 1024 }),
  /** Spans of proxied HTTP requests and flow records over OTLP/HTTP (docs/observability.md "Traces and flow export"). */
  telemetry: z
    .strictObject({
      otlp: z.strictObject({
        /** The collector's OTLP/HTTP base URL; /v1/traces and /v1/logs are appended. */
        endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'an http:// or https:// URL such as "http://127.0.0.1:4318"'),
        /** Sent with every export, e.g. an authorization header. */
        headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name'), z.string().max(4096)).default({}),
        /** The export queue on disk (default: <dataDir>/otlp). */
        queueDir: z.string().min(1, 'a directory path').optional(),
        /** Disk bound of the queue, per signal, bytes; over it the oldest batches are dropped and counted. */
        maxQueueBytes: z.number().int().min(1_048_576, 'at least 1048576 (1 MiB)').default(268_435_456),
        /** Longest an item waits in memory before it is written to the queue (and acknowledged). */
        flushInterval: zDurationMs.default(1000),
        timeout: zDurationMs.default(10_000),
        /** Also export every flow record, as an OTLP log record. */
        flows: z.boolean('true or false').default(false),
      }),
      sampling: z
        .strictObject({
          /** Traces this agent starts (requests without a traceparent) sampled per second at most. */
          rootsPerSecond: z.number().min(0).max(1_000_000).default(10),
          /** Spans recorded per second at most, sampled by the caller or not. */
          maxSpansPerSecond: z.number().min(1).max(1_000_000).default(1000),
        })
        .default({ rootsPerSecond: 10, maxSpansPerSecond: 1000 }),
    })
    .optional(),
}).superRefine((c, ctx) => {
  checkEnrollmentKeys(c, ctx);
  const listen = (c.listen ?? {}) as Partial<typeof c.listen>;
  const ports = Array.isArray(c.outboundPorts) ? c.outboundPorts : [];
  checkListeners([
    { path: ['listen', 'inbound'], address: listen.inbound },
    { path: ['listen', 'httpProxy'], address: listen.httpProxy },
    { path: ['listen', 'metrics'], address: listen.metrics },
    ...ports.map((p, i) => ({ path: ['outboundPorts', i, 'listen'], address: (p as Partial<typeof p> | undefined)?.listen })),
  ], ctx);
}, WHEN_MAPPING);

export type AgentConfig = z.output<typeof agentConfigSchema>;
