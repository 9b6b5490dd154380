// An OTLP/HTTP receiver for the export tests, written to the OTLP
// specification (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST
// /v1/traces and /v1/logs with a JSON-encoded Export*ServiceRequest
// (optionally gzip), 200 with an Export*ServiceResponse, 400 with a Status
// for a malformed body, 415 for an encoding it does not take, 404 elsewhere.
// The OpenTelemetry Collector is not packaged by Debian; this stands in for
// it over real sockets. It can be taken down and brought back on the same
// address, as a collector that restarts or a link that fails.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly resource: Record<string, unknown>;
}

export interface ReceivedLog {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly body: unknown;
  readonly attributes: Record<string, unknown>;
  readonly resource: Record<string, unknown>;
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

/** An OTLP AnyValue in JSON (stringValue, intValue as a string or number, boolValue, doubleValue). */
export function anyValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  return v;
}

function attrs(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of Array.isArray(list) ? (list as KeyValue[]) : []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Spans of one ExportTraceServiceRequest in OTLP JSON (IDs hex-encoded, as the specification says for JSON). */
export function spansOf(request: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const rs = (request as { resourceSpans?: unknown }).resourceSpans;
  if (!Array.isArray(rs)) throw new Error('resourceSpans: expected a list');
  for (const r of rs as { resource?: { attributes?: unknown }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[]) {
    const resource = attrs(r.resource?.attributes);
    for (const ss of r.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        if (typeof s.traceId !== 'string' || !/^[0-9a-f]{32}$/.test(s.traceId)) throw new Error(`span traceId ${JSON.stringify(s.traceId)}: expected 32 hex digits`);
        if (typeof s.spanId !== 'string' || !/^[0-9a-f]{16}$/.test(s.spanId)) throw new Error(`span spanId ${JSON.stringify(s.spanId)}: expected 16 hex digits`);
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(typeof s.parentSpanId === 'string' && s.parentSpanId !== '' ? { parentSpanId: s.parentSpanId } : {}),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          attributes: attrs(s.attributes),
          resource,
        });
      }
    }
  }
  return out;
}

function logsOf(request: unknown): ReceivedLog[] {
  const out: ReceivedLog[] = [];
  const rl = (request as { resourceLogs?: unknown }).resourceLogs;
  if (!Array.isArray(rl)) throw new Error('resourceLogs: expected a list');
  for (const r of rl as { resource?: { attributes?: unknown }; scopeLogs?: { logRecords?: Record<string, unknown>[] }[] }[]) {
    const resource = attrs(r.resource?.attributes);
    for (const sl of r.scopeLogs ?? []) {
      for (const l of sl.logRecords ?? []) {
        out.push({
          ...(typeof l.traceId === 'string' && l.traceId ? { traceId: l.traceId } : {}),
          ...(typeof l.spanId === 'string' && l.spanId ? { spanId: l.spanId } : {}),
          body: anyValue(l.body as Record<string, unknown> | undefined),
          attributes: attrs(l.attributes),
          resource,
        });
      }
    }
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  /** Requests answered, by status. */
  readonly answered = new Map<number, number>();
  private server: Server | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, resolve);
    });
    this.server = server;
  }

  /** Down: the listener closed and every open connection cut, so senders see connection refused. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private answer(res: ServerResponse, status: number, body: unknown): void {
    this.answered.set(status, (this.answered.get(status) ?? 0) + 1);
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/v1/traces' && path !== '/v1/logs')) return this.answer(res, 404, { code: 5, message: `no OTLP endpoint ${req.method} ${path}` });
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/json') return this.answer(res, 415, { code: 3, message: `content-type ${type || '(none)'}: this receiver takes application/json` });
    let raw = Buffer.concat(chunks);
    try {
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const request: unknown = JSON.parse(raw.toString('utf8'));
      if (path === '/v1/traces') this.spans.push(...spansOf(request));
      else this.logs.push(...logsOf(request));
    } catch (err) {
      return this.answer(res, 400, { code: 3, message: (err as Error).message });
    }
    // Full success: the specification lets the server leave partialSuccess out.
    this.answer(res, 200, {});
  }
}
