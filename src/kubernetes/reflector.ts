// A reflector: a local copy of one kind of Kubernetes object, kept by the
// list/watch protocol (https://kubernetes.io/docs/reference/using-api/api-concepts/):
//   1. list, in pages (limit/continue), and remember the list's resourceVersion;
//   2. watch from it, with bookmarks (allowWatchBookmarks), applying ADDED,
//      MODIFIED and DELETED and moving the resourceVersion with every event
//      and bookmark;
//   3. when the server ends a watch (timeoutSeconds), or the connection drops
//      or goes quiet (no bytes, not even a bookmark, for idleTimeoutMs), watch
//      again from the last resourceVersion: nothing is missed, nothing re-listed;
//   4. when the server says that resourceVersion is gone (410 Gone, as an HTTP
//      status or an ERROR event), list again and replace the copy whole;
//   5. any other failure: back off (exponential, with jitter) and retry.
// client-node's ListWatch does 1-4 but asks for no bookmarks, has no idle
// timeout and stops on errors other than 410, so the mesh would silently stop
// following the cluster: this loop never stops until stop().
//
// Objects come from the API server, across a trust boundary: each is checked
// (a name, a namespace for namespaced kinds, a resourceVersion) and one that
// fails is refused and counted, never stored.
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { KubeTransport } from './kube-transport.js';

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion: string; readonly uid?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

export interface ReflectorOptions {
  /** For logs and counters, e.g. "pods". */
  readonly resource: string;
  /** The collection's path, e.g. /api/v1/pods (every namespace). */
  readonly path: string;
  readonly namespaced: boolean;
  readonly transport: KubeTransport;
  readonly log: Logger;
  /** Told after the copy changed (a list, or an event): the caller rebuilds what it derives from it. */
  readonly onChange: () => void;
  readonly pageSize?: number;
  /** Asked of the server for each watch; it ends the watch then (default 300 s). */
  readonly watchTimeoutS?: number;
  /** No byte for this long (bookmarks come about once a minute): the watch is taken as dead (default 90 s). */
  readonly idleTimeoutMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly random?: () => number;
}

export interface ReflectorStats {
  lists: number;
  relistsAfterGone: number;
  watches: number;
  events: number;
  bookmarks: number;
  refused: number;
  failures: number;
  idleTimeouts: number;
}

class Gone extends Error {}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

function statusCode(body: unknown): number | undefined {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class Reflector<T extends KubeObject = KubeObject> {
  private store = new Map<string, T>();
  private rv = '';
  private synced = false;
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;
  private failuresInARow = 0;
  readonly stats: ReflectorStats = { lists: 0, relistsAfterGone: 0, watches: 0, events: 0, bookmarks: 0, refused: 0, failures: 0, idleTimeouts: 0 };

  constructor(private readonly o: ReflectorOptions) {}

  /** Whether a full list has come in: before it, the copy is not the cluster's state. */
  get hasSynced(): boolean {
    return this.synced;
  }

  get resourceVersion(): string {
    return this.rv;
  }

  items(): T[] {
    return [...this.store.values()];
  }

  /** One object of the copy, by "namespace/name" (namespaced) or name. */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  private key(o: KubeObject): string {
    return this.o.namespaced ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  /** The object, if it is one; else a reason (and it is counted and logged, not stored). */
  private check(o: unknown): T | undefined {
    const m = (o as { metadata?: Record<string, unknown> } | undefined)?.metadata;
    const problem =
      typeof o !== 'object' || o === null || typeof m !== 'object' || m === null
        ? 'no metadata'
        : typeof m.name !== 'string' || m.name === ''
          ? 'no metadata.name'
          : this.o.namespaced && (typeof m.namespace !== 'string' || m.namespace === '')
            ? 'no metadata.namespace'
            : typeof m.resourceVersion !== 'string'
              ? 'no metadata.resourceVersion'
              : undefined;
    if (problem === undefined) return o as T;
    this.stats.refused++;
    this.o.log.warn({ resource: this.o.resource, problem }, 'Kubernetes object refused: not a well-formed object');
    return undefined;
  }

  private async loop(): Promise<void> {
    const signal = this.stopper.signal;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        this.failuresInARow = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Gone) {
          this.stats.relistsAfterGone++;
          this.o.log.info({ resource: this.o.resource, resourceVersion: this.rv }, 'Kubernetes resourceVersion expired (410 Gone): listing again');
          needList = true;
          continue;
        }
        this.stats.failures++;
        const b = this.o.backoff ?? { initialMs: 500, maxMs: 30_000 };
        const delay = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.failuresInARow++, 20)) * (0.5 + (this.o.random ?? Math.random)() / 2);
        this.o.log.warn({ resource: this.o.resource, err: describeError(err), retryInMs: Math.round(delay) }, needList ? 'Kubernetes list failed: retrying' : 'Kubernetes watch failed: watching again');
        await sleep(delay, signal);
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const next = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const r = await this.o.transport.get(this.o.path, { limit: String(this.o.pageSize ?? 500), ...(cont ? { continue: cont } : {}) }, signal);
      // An expired continue token: the list must start over (a fresh, consistent snapshot).
      if (r.status === 410) throw new Gone();
      if (r.status !== 200) throw new Error(`list ${this.o.path} answered ${r.status}${(r.body as { message?: string } | undefined)?.message ? `: ${(r.body as { message: string }).message}` : ''}`);
      const body = r.body as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown } | undefined;
      if (!Array.isArray(body?.items) || typeof body?.metadata?.resourceVersion !== 'string') throw new Error(`list ${this.o.path}: not a list (no items or metadata.resourceVersion)`);
      for (const item of body.items) {
        const o = this.check(item);
        if (o) next.set(this.key(o), o);
      }
      rv = body.metadata.resourceVersion;
      cont = typeof body.metadata.continue === 'string' && body.metadata.continue !== '' ? body.metadata.continue : undefined;
    } while (cont);
    this.stats.lists++;
    this.store = next;
    this.rv = rv;
    this.synced = true;
    this.o.onChange();
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const idleMs = this.o.idleTimeoutMs ?? 90_000;
    const aborter = new AbortController();
    const onStop = (): void => aborter.abort();
    signal.addEventListener('abort', onStop, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let wentIdle = false;
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        wentIdle = true;
        aborter.abort();
      }, idleMs);
      idle.unref();
    };
    let gone = false;
    this.stats.watches++;
    touch();
    try {
      const r = await this.o.transport.watch(
        this.o.path,
        { watch: '1', resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(this.o.watchTimeoutS ?? 300) },
        { bytes: touch, event: (e) => (gone ||= this.apply(e, aborter)) },
        aborter.signal,
      ).catch((err: unknown) => {
        if (wentIdle) {
          this.stats.idleTimeouts++;
          this.o.log.warn({ resource: this.o.resource, idleMs }, 'Kubernetes watch went quiet (no event, no bookmark): watching again');
          return undefined;
        }
        if (gone) return undefined;
        throw err;
      });
      if (gone || r?.status === 410 || statusCode(r?.body) === 410) throw new Gone();
      if (r && r.status !== 200) throw new Error(`watch ${this.o.path} answered ${r.status}`);
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', onStop);
    }
  }

  /** One watch event; returns true when it says the resourceVersion is gone (the watch is then aborted). */
  private apply(e: unknown, aborter: AbortController): boolean {
    const ev = e as { type?: unknown; object?: unknown };
    if (ev.type === 'ERROR') {
      if (statusCode(ev.object) === 410) {
        aborter.abort();
        return true;
      }
      this.o.log.warn({ resource: this.o.resource, status: ev.object }, 'Kubernetes watch error event: watching again');
      aborter.abort();
      return false;
    }
    if (ev.type === 'BOOKMARK') {
      const rv = (ev.object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') {
        this.rv = rv;
        this.stats.bookmarks++;
      }
      return false;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') {
      this.stats.refused++;
      return false;
    }
    const o = this.check(ev.object);
    if (!o) return false;
    this.stats.events++;
    if (ev.type === 'DELETED') this.store.delete(this.key(o));
    else this.store.set(this.key(o), o);
    this.rv = o.metadata.resourceVersion;
    this.o.onChange();
    return false;
  }
}
