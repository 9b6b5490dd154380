// Keeps the policy directory's last good ResourceSet in force: loads it, watches
// it (fs.watch plus a slow mtime poll), and swaps in a new set only when a
// whole load is error-free. A broken commit never half-applies, and with a
// LastGoodStore a restart over a broken directory serves the saved set.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { assembleResources, listResourceFiles, parseResourceDir, type LoadResult, type ParsedFile } from './load-resources.js';
import { makeResourceError, type ResourceError } from './resource-error.js';
import { digestResources, emptyResourceSet, type ResourceSet } from './resource-set.js';
import type { LastGoodStore } from './last-good-file.js';

export interface ResourceSnapshot {
  readonly resources: ResourceSet;
  readonly digest: string;
  /** 0 for the initial empty set; +1 each time the set in force changes (digest differs); continued from the LastGoodStore. */
  readonly generation: number;
  /** When this set was loaded (ms since epoch); undefined for the initial empty set. */
  readonly loadedAt: number | undefined;
}

/** Where the set in force came from. */
export type InForceSource =
  | 'none' // nothing ever loaded: the empty set (default deny)
  | 'last-good-file' // restored at start from the LastGoodStore; the directory has not loaded since
  | 'directory'; // the directory's content as last loaded

export interface ResourceStoreStatus {
  /** The last load attempt had no errors. */
  readonly ok: boolean;
  /** The last attempt's errors; the set in force is older than them. */
  readonly errors: readonly ResourceError[];
  readonly lastGoodAt: number | undefined;
  readonly lastAttemptAt: number | undefined;
  readonly generation: number;
  readonly inForce: { readonly generation: number; readonly digest: string; readonly loadedAt: number | undefined; readonly source: InForceSource };
  /** The set in force is not the directory's current content (its last load failed, or none finished yet). */
  readonly stale: boolean;
  /** One line for operators: what is served, and why it is older than the directory when it is. */
  readonly summary: string;
}

export interface ResourceStoreOptions {
  readonly dir: string;
  readonly log: Logger;
  /** Called with the new snapshot when the digest in force changes (and when a first set is put in force); must not throw (it is logged if it does). */
  readonly onChange?: (snapshot: ResourceSnapshot) => void;
  /** Called with the errors of each load that was refused (the set in force stays); must not throw. */
  readonly onRejected?: (errors: readonly ResourceError[]) => void;
  readonly debounceMs?: number;
  /** The fallback poll for when fs.watch misses events (network file systems, replaced directories). */
  readonly pollIntervalMs?: number;
  /** false: poll only (fs.watch is unreliable on some network and container file systems). */
  readonly watch?: boolean;
  readonly now?: () => number;
  /** Persists every set put in force and restores it at start(); without it a restart starts from the empty set. */
  readonly lastGood?: LastGoodStore;
  /**
   * Resources from elsewhere (the Kubernetes source), loaded with the
   * directory's: a load waits (is refused, SOURCE_NOT_SYNCED) until the
   * source is synced, and on a name both declare the directory wins.
   * Tell the store of its changes with sourceChanged().
   */
  readonly source?: { load(): { kind: 'ready'; files: readonly ParsedFile[] } | { kind: 'not-synced'; reason: string } };
}

export class ResourceStore {
  private readonly dir: string;
  private readonly log: Logger;
  private readonly onChange: ((snapshot: ResourceSnapshot) => void) | undefined;
  private readonly onRejected: ((errors: readonly ResourceError[]) => void) | undefined;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;
  private readonly useWatch: boolean;
  private readonly now: () => number;
  private readonly lastGood: LastGoodStore | undefined;
  private readonly extra: ResourceStoreOptions['source'];
  private shadowed = '';

  private current: ResourceSnapshot;
  private source: InForceSource = 'none';
  private ok = false;
  private errors: readonly ResourceError[] = [];
  private lastGoodAt: number | undefined;
  private lastAttemptAt: number | undefined;
  private loggedErrors: string | undefined;
  /** Fingerprint of the files as they were when the last load started. */
  private seen: string | undefined;

  private pending = false;
  private running: Promise<void> | undefined;
  private closed = false;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(options: ResourceStoreOptions) {
    this.dir = options.dir;
    this.log = options.log;
    this.onChange = options.onChange;
    this.onRejected = options.onRejected;
    this.debounceMs = options.debounceMs ?? 150;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.useWatch = options.watch ?? true;
    this.now = options.now ?? Date.now;
    this.lastGood = options.lastGood;
    this.extra = options.source;
    const empty = emptyResourceSet();
    this.current = { resources: empty, digest: digestResources(empty), generation: 0, loadedAt: undefined };
  }

  /** Restores the last good set (if any), loads once, then watches. Never throws: problems are in status(). */
  async start(): Promise<void> {
    this.restore();
    await this.reload();
    if (this.closed) return;
    if (this.useWatch) this.startWatcher();
    this.poll = setInterval(() => void this.pollOnce(), this.pollIntervalMs);
    this.poll.unref();
  }

  /** Loads now; resolves after a load that started after this call. */
  async reload(): Promise<ResourceStoreStatus> {
    this.pending = true;
    while (this.pending && !this.closed) {
      if (!this.running) {
        const run = this.drain();
        this.running = run;
        // Cleared before any awaiter resumes (reactions run in registration order).
        const clear = () => {
          if (this.running === run) this.running = undefined;
        };
        void run.then(clear, clear);
      }
      await this.running;
    }
    return this.status();
  }

  snapshot(): ResourceSnapshot {
    return this.current;
  }

  status(): ResourceStoreStatus {
    const c = this.current;
    return {
      ok: this.ok,
      errors: this.errors,
      lastGoodAt: this.lastGoodAt,
      lastAttemptAt: this.lastAttemptAt,
      generation: c.generation,
      inForce: { generation: c.generation, digest: c.digest, loadedAt: c.loadedAt, source: this.source },
      stale: !this.ok,
      summary: this.summary(),
    };
  }

  private summary(): string {
    const c = this.current;
    const served = this.source === 'none'
      ? 'nothing is in force (the empty set: default deny everywhere)'
      : `serving generation ${c.generation} (digest ${c.digest.slice(0, 12)}) loaded at ${c.loadedAt === undefined ? '?' : new Date(c.loadedAt).toISOString()}${this.source === 'last-good-file' ? `, restored at start from ${this.lastGood?.location ?? '?'}` : ''}`;
    if (this.ok) return `${served}: the policy directory's current content`;
    const first = this.errors[0];
    const why = first === undefined ? 'the policy directory has not loaded yet' : `the policy directory has ${this.errors.length} error(s) (first: ${first.message})`;
    return this.source === 'none' ? `no good set was ever loaded and ${why}: ${served}` : `the set in force is older than the policy directory: ${why}; ${served}`;
  }

  /** The saved set, before the first load: a broken directory at start then changes nothing in force. */
  private restore(): void {
    if (!this.lastGood) return;
    const read = this.lastGood.read();
    if (read.kind === 'none') return;
    if (read.kind === 'invalid') {
      this.log.error({ file: this.lastGood.location, reason: read.reason }, `the saved last good policy set is unusable (${read.reason}); not restoring it`);
      return;
    }
    const { saved } = read;
    this.current = { resources: saved.resources, digest: saved.digest, generation: saved.generation, loadedAt: saved.loadedAt };
    this.source = 'last-good-file';
    this.lastGoodAt = saved.loadedAt;
    this.log.info({ file: this.lastGood.location, generation: saved.generation, digest: saved.digest, loadedAt: new Date(saved.loadedAt).toISOString() }, 'restored the last good policy set saved on disk');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    await this.running;
  }

  private startWatcher(): void {
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.schedule());
      this.watcher.on('error', (err) => {
        this.log.warn({ dir: this.dir, err: describeError(err) }, 'policy directory watch failed; relying on polling');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ dir: this.dir, err: describeError(err) }, 'cannot watch the policy directory; relying on polling');
    }
  }

  /** The extra source changed: load again (debounced, as a directory change). */
  sourceChanged(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.debounceMs);
    this.debounce.unref();
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || this.running || this.closed) return;
    this.polling = true;
    try {
      if ((await this.fingerprint()) !== this.seen) this.schedule();
    } finally {
      this.polling = false;
    }
  }

  /** Paths, sizes and mtimes of the resource files: cheap enough for a 2 s poll. */
  private async fingerprint(): Promise<string> {
    const { files, errors } = await listResourceFiles(this.dir);
    const parts = errors.map((e) => `!${e.file}`);
    for (const f of files) {
      const st = await stat(f).catch(() => undefined);
      parts.push(st ? `${f}\0${st.size}\0${st.mtimeMs}\0${st.ino}` : `${f}\0gone`);
    }
    return parts.join('\n');
  }

  /** The directory's files, then the source's, less what the directory declares too; not synced: an error that refuses the load. */
  private withSource(dir: ParsedFile[]): ParsedFile[] {
    if (!this.extra) return dir;
    const loaded = this.extra.load();
    if (loaded.kind === 'not-synced') {
      const error = makeResourceError({ code: 'SOURCE_NOT_SYNCED', file: 'kubernetes', document: 0, path: [], value: loaded.reason, expected: 'every collection listed once (the set in force stays until then)' });
      return [...dir, { resources: [], declarations: [], errors: [error] }];
    }
    const declared = new Set(dir.flatMap((f) => f.resources.map((r) => `${r.resource.kind}/${r.resource.metadata.namespace}/${r.resource.metadata.name}`)));
    const shadowed: string[] = [];
    const files = loaded.files.map((f) => {
      const resources = f.resources.filter((r) => {
        const key = `${r.resource.kind}/${r.resource.metadata.namespace}/${r.resource.metadata.name}`;
        if (!declared.has(key)) return true;
        shadowed.push(key);
        return false;
      });
      return resources.length === f.resources.length ? f : { ...f, resources, declarations: f.declarations.filter((d) => !declared.has(`${d.kind}/${d.namespace}/${d.name}`)) };
    });
    const key = shadowed.sort().join(',');
    if (key !== this.shadowed) {
      this.shadowed = key;
      if (shadowed.length > 0) this.log.warn({ resources: shadowed.slice(0, 10), count: shadowed.length }, 'resources declared both in the policy directory and by the Kubernetes source: the directory wins');
    }
    return [...dir, ...files];
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      this.pending = false;
      await this.loadOnce();
    }
  }

  private async loadOnce(): Promise<void> {
    let result: LoadResult;
    try {
      // Fingerprint first: an edit made during the load shows up as a change at the next poll.
      this.seen = await this.fingerprint();
      result = assembleResources(this.withSource(await parseResourceDir(this.dir)));
    } catch (err) {
      const error = makeResourceError({ code: 'READ_FAILED', file: this.dir, document: 0, path: [], value: describeError(err), expected: 'a readable policy directory' });
      result = { resources: emptyResourceSet(), errors: [error] };
    }
    if (this.closed) return;
    const at = this.now();
    this.lastAttemptAt = at;
    if (result.errors.length > 0) {
      this.ok = false;
      this.errors = result.errors;
      this.logErrors(result.errors);
      try {
        this.onRejected?.(result.errors);
      } catch (err) {
        this.log.error({ err: describeError(err) }, 'policy onRejected listener threw');
      }
      return;
    }
    if (!this.ok && this.loggedErrors !== undefined) this.log.info({ dir: this.dir }, 'policy directory is valid again');
    this.ok = true;
    this.errors = [];
    this.loggedErrors = undefined;
    this.lastGoodAt = at;
    // The first set in force is news even when it equals the initial empty set (an empty directory).
    const first = this.source === 'none';
    this.source = 'directory';
    const digest = digestResources(result.resources);
    if (digest === this.current.digest && !first) return;
    if (digest !== this.current.digest) {
      this.current = { resources: result.resources, digest, generation: this.current.generation + 1, loadedAt: at };
      this.save(this.current);
    }
    const r = result.resources;
    this.log.info(
      { dir: this.dir, digest, generation: this.current.generation, services: r.services.length, workloads: r.workloads.length, policies: r.authorizationPolicies.length },
      'policy resources applied',
    );
    try {
      this.onChange?.(this.current);
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'policy onChange listener threw');
    }
  }

  /** Before onChange: a set that others may already enforce is never lost to a restart. */
  private save(s: ResourceSnapshot): void {
    if (!this.lastGood) return;
    try {
      this.lastGood.write({ resources: s.resources, digest: s.digest, generation: s.generation, loadedAt: s.loadedAt ?? this.now() });
    } catch (err) {
      // Still applied: refusing a good set because the disk is full would be worse.
      this.log.error({ file: this.lastGood.location, err: describeError(err), generation: s.generation }, 'could not save the last good policy set; a restart over a broken directory would not find it');
    }
  }

  /** Once per distinct error set, so a broken file does not flood the log every poll. */
  private logErrors(errors: readonly ResourceError[]): void {
    const key = errors.map((e) => e.message).join('\n');
    if (key === this.loggedErrors) return;
    this.loggedErrors = key;
    const inForce = this.source === 'none'
      ? 'no good set was ever loaded: the empty set is in force (default deny everywhere)'
      : `keeping the last good set (generation ${this.current.generation}, digest ${this.current.digest.slice(0, 12)}${this.source === 'last-good-file' ? `, restored from ${this.lastGood?.location ?? '?'}` : ''})`;
    this.log.error({ dir: this.dir, errors: errors.length }, `policy directory rejected with ${errors.length} error(s); ${inForce}`);
    for (const e of errors) this.log.error({ code: e.code, file: e.file, line: e.line, key: e.key }, e.message);
  }
}
