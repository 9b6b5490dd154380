// A list/watch double of the Kubernetes API server, for tests: no API server
// can be installed on the machines Entente is tested on (no Debian package
// ships one). A real HTTP server that follows the documented behaviour of
// list and watch (https://kubernetes.io/docs/reference/using-api/api-concepts/):
// - one resourceVersion counter for every object, as etcd's revision;
// - list: `limit` and `continue` pages, the list's resourceVersion;
// - watch from a resourceVersion: every change after it, then live ones;
//   BOOKMARK events (when asked with allowWatchBookmarks) carrying the
//   current resourceVersion; the stream ends after `timeoutSeconds`;
// - a resourceVersion older than the compacted history: an ERROR event with
//   a 410 Status (or, with `goneAsHttpStatus`, an HTTP 410);
// and the faults tests need: dropping every open watch, failing the next
// requests with a status, holding watches silent, and requiring a bearer token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

interface Change {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Record<string, unknown>;
}

interface Collection {
  readonly path: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly objects: Map<string, Record<string, unknown>>;
  history: Change[];
}

interface OpenWatch {
  readonly path: string;
  readonly res: ServerResponse;
  rv: number;
  silent: boolean;
  readonly bookmarks: boolean;
}

export interface ApiDoubleRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
}

export class KubeApiDouble {
  private readonly server: Server;
  private rv = 100;
  /** History up to this resourceVersion is compacted away: a watch (or a list's continue) from before it gets 410 Gone. */
  private compactedRv = 0;
  private readonly collections = new Map<string, Collection>();
  private readonly watches = new Set<OpenWatch>();
  private failures: { status: number; count: number; watchOnly: boolean } | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  /** Every request, in order: tests read which resourceVersions watches asked for. */
  readonly requests: ApiDoubleRequest[] = [];
  goneAsHttpStatus = false;
  /** New watches send nothing at all (no events, no bookmarks): a hung connection. */
  silentWatches = false;

  /** `tls`: serve HTTPS with this certificate (what a client of a real API server verifies). */
  constructor(private readonly opts: { token: string; bookmarkMs?: number; tls?: { cert: string; key: string } }) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    this.server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createServer(handler);
  }

  async listen(host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, host, () => resolve()));
    this.bookmarkTimer = setInterval(() => this.bookmarks(), this.opts.bookmarkMs ?? 200);
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Declares a collection, e.g. ('/api/v1/pods', 'Pod', 'v1'). */
  collection(path: string, kind: string, apiVersion: string): void {
    this.collections.set(path, { path, kind, apiVersion, objects: new Map(), history: [] });
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Creates or replaces an object (ADDED or MODIFIED), stamping the next resourceVersion. */
  put(path: string, object: { metadata: { name: string; namespace?: string } & Record<string, unknown> } & Record<string, unknown>): void {
    const c = this.collections.get(path)!;
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const type = c.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stamped = { apiVersion: c.apiVersion, kind: c.kind, ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    c.objects.set(key, stamped);
    this.record(c, { rv: this.rv, type, object: stamped });
  }

  delete(path: string, namespace: string | undefined, name: string): void {
    const c = this.collections.get(path)!;
    const key = `${namespace ?? ''}/${name}`;
    const old = c.objects.get(key);
    if (!old) return;
    c.objects.delete(key);
    const object = { ...old, metadata: { ...(old.metadata as object), resourceVersion: String(++this.rv) } };
    this.record(c, { rv: this.rv, type: 'DELETED', object });
  }

  /** Sends a raw event line to every open watch of a collection (malformed objects, for the reflector's checks). */
  inject(path: string, event: unknown): void {
    for (const w of this.watches) if (w.path === path && !w.silent) w.res.write(`${JSON.stringify(event)}\n`);
  }

  /** Forgets the history up to now, as etcd compaction does: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    for (const c of this.collections.values()) c.history = [];
  }

  /** Cuts every open watch's connection, as a restarted API server or a load balancer would. */
  dropWatches(): void {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
  }

  /** The next `count` requests (watches only, when asked) fail with `status`. */
  failNext(status: number, count: number, watchOnly = false): void {
    this.failures = { status, count, watchOnly };
  }

  get openWatches(): number {
    return this.watches.size;
  }

  private record(c: Collection, change: Change): void {
    c.history.push(change);
    for (const w of this.watches) {
      if (w.path !== c.path || w.silent) continue;
      w.res.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
      w.rv = change.rv;
    }
  }

  private bookmarks(): void {
    for (const w of this.watches) {
      if (w.silent || !w.bookmarks) continue;
      const c = this.collections.get(w.path)!;
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: c.kind, apiVersion: c.apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
      w.rv = this.rv;
    }
  }

  private status(res: ServerResponse, code: number, message: string): void {
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: code === 410 ? 'Expired' : 'InternalError', code });
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(body);
  }

  /** Service-account tokens the double accepts in a TokenReview: the identity each stands for. */
  readonly tokens = new Map<string, { username: string; audiences: string[]; pod?: string; podUid?: string; node?: string }>();
  /** When false, TokenReview answers 503 (an API server that cannot authenticate). */
  tokenReviewsUp = true;
  /** Every token a TokenReview asked about, in order (also while reviews are down). */
  readonly reviewedTokens: string[] = [];

  private tokenReview(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { token?: string; audiences?: string[] } };
      this.reviewedTokens.push(body.spec?.token ?? '');
      if (!this.tokenReviewsUp) {
        this.status(res, 503, 'the authenticator is unavailable');
        return;
      }
      const t = this.tokens.get(body.spec?.token ?? '');
      const wanted = body.spec?.audiences ?? [];
      // As the API server: the audiences the token is valid for, of those asked; none in common is not authenticated.
      const audiences = t ? t.audiences.filter((a) => wanted.length === 0 || wanted.includes(a)) : [];
      const ok = t !== undefined && audiences.length > 0;
      const extra = t
        ? { ...(t.pod ? { 'authentication.kubernetes.io/pod-name': [t.pod] } : {}), ...(t.podUid ? { 'authentication.kubernetes.io/pod-uid': [t.podUid] } : {}), ...(t.node ? { 'authentication.kubernetes.io/node-name': [t.node] } : {}) }
        : {};
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status: ok ? { authenticated: true, user: { username: t.username, extra }, audiences } : { authenticated: false, error: t ? 'token audiences are invalid' : 'invalid bearer token' } }));
    });
  }

  /** Leases (coordination.k8s.io/v1), by "namespace/name": get, create, and update with the resourceVersion precondition. */
  readonly leases = new Map<string, Record<string, unknown>>();

  private lease(req: IncomingMessage, res: ServerResponse, ns: string, name: string | undefined): void {
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: { name?: string; resourceVersion?: string } }) : undefined;
      const key = `${ns}/${name ?? body?.metadata?.name ?? ''}`;
      const current = this.leases.get(key);
      const stamp = (o: Record<string, unknown>): Record<string, unknown> => ({ ...o, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...(o.metadata as object), namespace: ns, resourceVersion: String(++this.rv) } });
      if (req.method === 'GET') {
        if (current) reply(200, current);
        else this.status(res, 404, `leases.coordination.k8s.io "${name}" not found`);
      } else if (req.method === 'POST') {
        if (current) this.status(res, 409, `leases.coordination.k8s.io "${body?.metadata?.name}" already exists`);
        else {
          const created = stamp(body as Record<string, unknown>);
          this.leases.set(key, created);
          reply(201, created);
        }
      } else if (req.method === 'PUT') {
        if (!current) this.status(res, 404, `leases.coordination.k8s.io "${name}" not found`);
        else if (body?.metadata?.resourceVersion !== (current.metadata as { resourceVersion: string }).resourceVersion) this.status(res, 409, 'the object has been modified; please apply your changes to the latest version and try again');
        else {
          const updated = stamp(body as Record<string, unknown>);
          this.leases.set(key, updated);
          reply(200, updated);
        }
      } else this.status(res, 405, 'method not allowed');
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    this.requests.push({ path: u.pathname, query });
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      this.status(res, 401, 'Unauthorized');
      return;
    }
    if (u.pathname === '/apis/authentication.k8s.io/v1/tokenreviews' && req.method === 'POST') {
      this.tokenReview(req, res);
      return;
    }
    const lease = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/leases(?:\/([a-z0-9.-]+))?$/.exec(u.pathname);
    if (lease) {
      if (this.failures && this.failures.count > 0 && !this.failures.watchOnly) {
        this.failures.count--;
        this.status(res, this.failures.status, 'injected failure');
        return;
      }
      this.lease(req, res, lease[1]!, lease[2]);
      return;
    }
    const c = this.collections.get(u.pathname);
    if (!c) {
      this.status(res, 404, `the server could not find the requested resource ${u.pathname}`);
      return;
    }
    const watching = query.watch === '1' || query.watch === 'true';
    if (this.failures && this.failures.count > 0 && (!this.failures.watchOnly || watching)) {
      this.failures.count--;
      this.status(res, this.failures.status, 'injected failure');
      return;
    }
    if (watching) this.watch(c, query, res);
    else this.list(c, query, res);
  }

  private list(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    const all = [...c.objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, o]) => o);
    const limit = query.limit ? Number(query.limit) : all.length;
    // continue: "<offset>:<rv>", a snapshot at rv; one from before the compaction has expired.
    let offset = 0;
    let rv = this.rv;
    if (query.continue) {
      const [o, r] = query.continue.split(':').map(Number);
      if (r! < this.compactedRv) {
        this.status(res, 410, 'The provided continue parameter is too old');
        return;
      }
      offset = o!;
      rv = r!;
    }
    const page = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: `${c.kind}List`, apiVersion: c.apiVersion, metadata: { resourceVersion: String(rv), ...(more ? { continue: `${offset + limit}:${rv}` } : {}) }, items: page }));
  }

  private watch(c: Collection, query: Record<string, string>, res: ServerResponse): void {
    const from = Number(query.resourceVersion ?? '0');
    if (from !== 0 && from < this.compactedRv) {
      if (this.goneAsHttpStatus) {
        this.status(res, 410, `too old resource version: ${from} (${this.compactedRv})`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.compactedRv})`, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: OpenWatch = { path: c.path, res, rv: from, silent: this.silentWatches, bookmarks: query.allowWatchBookmarks === 'true' };
    if (w.silent) res.flushHeaders();
    else for (const ch of c.history) if (ch.rv > from) res.write(`${JSON.stringify({ type: ch.type, object: ch.object })}\n`);
    this.watches.add(w);
    const timeout = setTimeout(() => {
      this.watches.delete(w);
      res.end();
    }, Number(query.timeoutSeconds ?? '300') * 1000);
    res.once('close', () => {
      clearTimeout(timeout);
      this.watches.delete(w);
    });
  }
}
