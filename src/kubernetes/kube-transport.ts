// Requests to the Kubernetes API server: a paged list, and a watch read as a
// stream of newline-delimited JSON events. Authentication and TLS come from
// @kubernetes/client-node's KubeConfig (in-cluster service account, a
// kubeconfig file, exec plugins): the part of a client that must follow
// Kubernetes exactly. The requests themselves are plain node:http(s), so the
// reflector controls every timeout and can abort a watch that went quiet.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describeError } from '../core/errors.js';

export interface KubeResponse {
  readonly status: number;
  /** Parsed JSON; undefined when the body was not JSON. */
  readonly body: unknown;
}

export interface KubeTransport {
  /** One GET (a list page); the body as JSON. */
  get(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<KubeResponse>;
  /**
   * A watch: each event line is handed to `onEvent` as parsed JSON, and
   * `onBytes` is told of every chunk (the idle timer). Resolves when the
   * server ends the stream; a status other than 200 resolves at once, with
   * its body. Rejects when the connection fails or is aborted.
   */
  watch(path: string, query: Readonly<Record<string, string>>, on: { event(e: unknown): void; bytes(): void }, signal: AbortSignal): Promise<KubeResponse>;
  /** A write (POST, PUT) of a JSON body; the answer's status and JSON body. */
  send(method: 'POST' | 'PUT', path: string, body: unknown, signal: AbortSignal): Promise<KubeResponse>;
}

/** One event is one object: far below this; a longer line is a broken or hostile stream. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** A list page is bounded by `limit`; this bounds a server that ignores it. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** Where the server is and how to authenticate: what KubeConfig gives (client-node), or a plain base URL in tests. */
export interface KubeEndpoint {
  readonly server: string;
  /** Adds TLS material and credentials to the request (KubeConfig.applyToHTTPSOptions). */
  readonly authorize: (opts: RequestOptions) => Promise<void>;
}

/** From the cluster config: in a pod, its service account; else $KUBECONFIG or ~/.kube/config (client-node loads it lazily: it is large). */
export async function endpointFromKubeConfig(source: { kind: 'in-cluster' } | { kind: 'file'; path?: string } | { kind: 'text'; text: string }): Promise<KubeEndpoint> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (source.kind === 'in-cluster') kc.loadFromCluster();
  else if (source.kind === 'text') kc.loadFromString(source.text);
  else if (source.path) kc.loadFromFile(source.path);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the Kubernetes config names no current cluster');
  return { server: cluster.server, authorize: (opts) => kc.applyToHTTPSOptions(opts) };
}

function url(server: string, path: string, query: Readonly<Record<string, string>>): URL {
  // The server URL may carry a path prefix (a proxy): the API path goes below it.
  const u = new URL(server);
  u.pathname = `${u.pathname.replace(/\/$/, '')}${path}`;
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
}

async function open(ep: KubeEndpoint, path: string, query: Readonly<Record<string, string>>, signal: AbortSignal, write?: { method: 'POST' | 'PUT'; body: unknown }): Promise<IncomingMessage> {
  const u = url(ep.server, path, query);
  const payload = write ? JSON.stringify(write.body) : undefined;
  const headers: Record<string, string | number> = { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) };
  const opts: RequestOptions = { method: write?.method ?? 'GET', hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (u.protocol === 'https:' ? 443 : 80), path: `${u.pathname}${u.search}`, headers, agent: false, signal };
  await ep.authorize(opts);
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(opts, resolve);
    req.on('error', (err) => reject(new Error(`${u.origin}${u.pathname}: ${describeError(err)}`)));
    req.end(payload);
  });
}

function readJson(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) res.destroy(new Error(`answer over ${MAX_BODY_BYTES} bytes`));
      else chunks.push(c);
    });
    res.on('error', reject);
    res.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}

export function httpTransport(ep: KubeEndpoint): KubeTransport {
  return {
    async get(path, query, signal) {
      const res = await open(ep, path, query, signal);
      return { status: res.statusCode ?? 0, body: await readJson(res) };
    },
    async send(method, path, body, signal) {
      const res = await open(ep, path, {}, signal, { method, body });
      return { status: res.statusCode ?? 0, body: await readJson(res) };
    },
    async watch(path, query, on, signal) {
      const res = await open(ep, path, query, signal);
      if (res.statusCode !== 200) return { status: res.statusCode ?? 0, body: await readJson(res) };
      return new Promise((resolve, reject) => {
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          on.bytes();
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line === '') continue;
            let e: unknown;
            try {
              e = JSON.parse(line);
            } catch {
              res.destroy(new Error('a watch event that is not JSON'));
              return;
            }
            on.event(e);
          }
          if (pending.length > MAX_LINE_BYTES) res.destroy(new Error(`a watch event over ${MAX_LINE_BYTES} bytes`));
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('the watch was cut')));
        res.on('end', () => resolve({ status: 200, body: undefined }));
      });
    },
  };
}
