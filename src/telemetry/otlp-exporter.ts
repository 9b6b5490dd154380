// OTLP/HTTP export (https://opentelemetry.io/docs/specs/otlp/#otlphttp) that
// loses nothing it acknowledged. Items are batched in memory for at most
// `flushIntervalMs`, serialized by OpenTelemetry's own OTLP JSON serializer
// (@opentelemetry/otlp-transformer) and appended to a DiskQueue: an item is
// acknowledged once its batch is durable there. One sender delivers the
// queue oldest first; a batch is deleted only after the collector answered
// 2xx. While the collector is unreachable, batches wait (with backoff, and
// Retry-After honoured); a restart picks the queue up where it was. Only the
// disk bound drops items: the oldest first, counted and logged.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { DiskQueue, type QueuedBatch } from './disk-queue.js';

export interface OtlpSignal<T> {
  /** "traces" or "logs": the path /v1/<signal> and the metric label. */
  readonly name: 'traces' | 'logs';
  readonly serialize: (items: T[]) => Uint8Array | undefined;
  /** How many items the collector refused in a 2xx answer (partial success). */
  readonly rejectedIn: (body: unknown) => number;
}

export interface OtlpExporterOptions<T> {
  readonly signal: OtlpSignal<T>;
  /** The collector's base URL, e.g. http://127.0.0.1:4318; /v1/<signal> is appended. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly queueDir: string;
  readonly maxQueueBytes: number;
  readonly flushIntervalMs: number;
  readonly maxBatch: number;
  /** Items held in memory before the next flush; beyond, new ones are dropped and counted. */
  readonly maxBuffered: number;
  readonly timeoutMs: number;
  readonly registry: Registry;
  readonly log: Logger;
}

const RETRYABLE = new Set([408, 429, 502, 503, 504]);
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

interface Metrics {
  readonly queued: Counter<'signal'>;
  readonly exported: Counter<'signal'>;
  readonly dropped: Counter<'signal' | 'reason'>;
  readonly failures: Counter<'signal' | 'reason'>;
  readonly queueBytes: Gauge<'signal'>;
  readonly queueItems: Gauge<'signal'>;
}

function metricsOn(registry: Registry): Metrics {
  const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
  const r = [registry];
  return {
    queued: get('entente_telemetry_items_queued_total', () => new Counter({ name: 'entente_telemetry_items_queued_total', help: 'Telemetry items (spans, flow log records) written durably to the export queue: acknowledged', labelNames: ['signal'], registers: r })),
    exported: get('entente_telemetry_items_exported_total', () => new Counter({ name: 'entente_telemetry_items_exported_total', help: 'Telemetry items the OTLP collector accepted', labelNames: ['signal'], registers: r })),
    dropped: get('entente_telemetry_items_dropped_total', () => new Counter({ name: 'entente_telemetry_items_dropped_total', help: 'Telemetry items dropped, by reason: queue_full (oldest dropped at the disk bound), buffer_full, rate_limit (sampling cap), rejected (refused by the collector)', labelNames: ['signal', 'reason'], registers: r })),
    failures: get('entente_telemetry_export_failures_total', () => new Counter({ name: 'entente_telemetry_export_failures_total', help: 'Failed attempts to deliver a batch to the collector, by reason (unreachable, timeout, http_<status>)', labelNames: ['signal', 'reason'], registers: r })),
    queueBytes: get('entente_telemetry_queue_bytes', () => new Gauge({ name: 'entente_telemetry_queue_bytes', help: 'Bytes waiting in the export queue on disk', labelNames: ['signal'], registers: r })),
    queueItems: get('entente_telemetry_queue_items', () => new Gauge({ name: 'entente_telemetry_queue_items', help: 'Items waiting in the export queue on disk', labelNames: ['signal'], registers: r })),
  };
}

export class OtlpExporter<T> {
  private buffer: T[] = [];
  readonly queue: DiskQueue;
  private readonly url: URL;
  private readonly m: Metrics;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sending = false;
  private stopped = false;
  private backoffMs = MIN_BACKOFF_MS;
  private outageSince: number | undefined;

  constructor(private readonly o: OtlpExporterOptions<T>) {
    this.url = new URL(`${o.endpoint.replace(/\/$/, '')}/v1/${o.signal.name}`);
    this.m = metricsOn(o.registry);
    const signal = o.signal.name;
    this.queue = new DiskQueue(o.queueDir, o.maxQueueBytes, (items, batches) => {
      this.m.dropped.inc({ signal, reason: 'queue_full' }, items);
      o.log.warn({ signal, items, batches, maxBytes: o.maxQueueBytes }, 'export queue over its disk bound: oldest batches dropped');
    });
    if (this.queue.length > 0) o.log.info({ signal, batches: this.queue.length, items: this.queue.items }, 'export queue found on disk: delivering it');
    this.gauges();
  }

  start(): void {
    this.flushTimer = setInterval(() => void this.flush(), this.o.flushIntervalMs);
    this.flushTimer.unref();
    this.kick();
  }

  /** Takes an item for export; never blocks the caller. */
  add(item: T): void {
    if (this.stopped) return;
    if (this.buffer.length >= this.o.maxBuffered) {
      this.m.dropped.inc({ signal: this.o.signal.name, reason: 'buffer_full' });
      return;
    }
    this.buffer.push(item);
    if (this.buffer.length >= this.o.maxBatch) void this.flush();
  }

  /** Writes what is in memory to the queue; resolves once it is durable. */
  async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      const items = this.buffer.splice(0, this.o.maxBatch);
      const body = this.o.signal.serialize(items);
      if (!body) {
        this.m.dropped.inc({ signal: this.o.signal.name, reason: 'rejected' }, items.length);
        continue;
      }
      try {
        await this.queue.append(body, items.length);
        this.m.queued.inc({ signal: this.o.signal.name }, items.length);
      } catch (err) {
        // A full or failing disk: these items were never acknowledged; say so rather than pretend.
        this.m.dropped.inc({ signal: this.o.signal.name, reason: 'queue_full' }, items.length);
        this.o.log.warn({ signal: this.o.signal.name, items: items.length, err: describeError(err) }, 'export queue write failed: batch dropped');
      }
    }
    this.gauges();
    this.kick();
  }

  /** Flushes memory to disk and stops sending; what is queued is sent by the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.flushTimer);
    clearTimeout(this.retryTimer);
    await this.flush();
  }

  private gauges(): void {
    this.m.queueBytes.set({ signal: this.o.signal.name }, this.queue.size);
    this.m.queueItems.set({ signal: this.o.signal.name }, this.queue.items);
  }

  private kick(): void {
    if (this.sending || this.stopped || this.retryTimer !== undefined) return;
    this.sending = true;
    void this.drain().finally(() => {
      this.sending = false;
    });
  }

  private async drain(): Promise<void> {
    const signal = this.o.signal.name;
    for (;;) {
      if (this.stopped) return;
      const batch = this.queue.lease();
      if (!batch) return;
      const result = await this.send(batch);
      if (result.ok) {
        const rejected = Math.min(batch.items, result.rejected);
        this.m.exported.inc({ signal }, batch.items - rejected);
        if (rejected > 0) this.m.dropped.inc({ signal, reason: 'rejected' }, rejected);
        await this.queue.remove(batch);
        this.gauges();
        this.backoffMs = MIN_BACKOFF_MS;
        if (this.outageSince !== undefined) {
          this.o.log.info({ signal, downForMs: Date.now() - this.outageSince, queued: this.queue.items }, 'collector reachable again: delivering the queue');
          this.outageSince = undefined;
        }
        continue;
      }
      this.m.failures.inc({ signal, reason: result.reason });
      if (!result.retry) {
        // The collector refused the batch itself (400, 413, ...): sending it again cannot succeed.
        this.m.dropped.inc({ signal, reason: 'rejected' }, batch.items);
        this.o.log.warn({ signal, items: batch.items, reason: result.reason, detail: result.detail }, 'collector refused a batch: dropped');
        await this.queue.remove(batch);
        this.gauges();
        continue;
      }
      this.queue.release();
      if (this.outageSince === undefined) {
        this.outageSince = Date.now();
        this.o.log.warn({ signal, collector: this.url.origin, reason: result.reason, detail: result.detail, queued: this.queue.items }, 'collector unreachable: telemetry waits in the queue on disk');
      }
      const wait = result.retryAfterMs ?? this.backoffMs * (0.8 + Math.random() * 0.4);
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, Math.min(MAX_BACKOFF_MS, wait));
      this.retryTimer.unref();
      return;
    }
  }

  private async send(batch: QueuedBatch): Promise<{ ok: true; rejected: number } | { ok: false; retry: boolean; reason: string; detail?: string; retryAfterMs?: number }> {
    let body: Buffer;
    try {
      body = await this.queue.read(batch);
    } catch (err) {
      return { ok: false, retry: false, reason: 'unreadable', detail: describeError(err) };
    }
    return new Promise((resolve) => {
      const req = (this.url.protocol === 'https:' ? httpsRequest : httpRequest)(
        this.url,
        { method: 'POST', headers: { ...this.o.headers, 'content-type': 'application/json', 'content-length': body.length }, timeout: this.o.timeoutMs },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 1 << 20) chunks.push(c);
          });
          res.on('error', () => resolve({ ok: false, retry: true, reason: 'unreachable', detail: 'response cut' }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status >= 200 && status < 300) {
              let rejected = 0;
              try {
                rejected = text ? this.o.signal.rejectedIn(JSON.parse(text)) : 0;
              } catch {
                rejected = 0;
              }
              return resolve({ ok: true, rejected });
            }
            const after = Number(res.headers['retry-after']);
            resolve({ ok: false, retry: RETRYABLE.has(status) || status >= 500, reason: `http_${status}`, detail: text.slice(0, 200), ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}) });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => resolve({ ok: false, retry: true, reason: /no answer within/.test(err.message) ? 'timeout' : 'unreachable', detail: err.message }));
      req.end(body);
    });
  }
}
