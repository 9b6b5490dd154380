// One controller replica's view of the region state it shares with the
// others through etcd (docs/operations.md "Controller replicas"). Keys under
// the region's prefix P:
//
//   P/leader              the election (leader-election.ts)
//   P/ca                  the CA, sealed with the state key (shared-ca.ts)
//   P/tokens/<id>         join tokens (etcd-join-tokens.ts)
//   P/nodes/<node>        enrolled nodes; any replica writes them
//   P/presence/<node>/<r> a node's config stream is open on replica r (r's lease: gone when r dies)
//   P/links/<gateway>     a gateway's last link report, through whichever replica it talks to
//   P/mesh-config         the config every replica pushes to its nodes   } written by
//   P/region-state        the signed region state every replica serves  } the leader only,
//   P/resources           the resource set in force                      } fenced
//
// Every replica reads the whole prefix once, then follows it with one watch
// from the revision it read. Views derived from region-wide inputs (the mesh
// config, the region state) have one writer, the leader, so that all nodes
// see the same config with the same version whichever replica they talk to.
//
// Every value but the leader key and the (sealed) CA is authenticated with
// the state key (state-key.ts): a value written by someone who can write to
// etcd but has no state key is refused and counted, and what the replica
// holds stays as it was.
import { createHash } from 'node:crypto';
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3';
import type { Logger } from '../../core/log.js';
import { describeError } from '../../core/errors.js';
import type { MeshConfig } from '../../mesh/mesh-config.js';
import { parseSaved, type SavedResourceSet } from '../../policy/last-good-file.js';
import { LeaderElection } from './leader-election.js';
import { EtcdJoinTokens } from './etcd-join-tokens.js';
import type { StateKey } from './state-key.js';

export interface ReplicaHandlers {
  readonly onLeadership: (leading: boolean) => void;
  readonly onMeshConfig: (c: MeshConfig) => void;
  readonly onRegionState: (jws: string) => void;
  readonly onResources: (saved: SavedResourceSet) => void;
  /** The sealed CA document changed (the replica writes it to its CA directory and reloads). */
  readonly onCa: (sealed: string) => void;
  /** A node record as another replica wrote it (unchecked: the registry checks it). */
  readonly onNode: (raw: unknown) => void;
  readonly onPresence: () => void;
  /** A gateway's link report (unchecked) and when it was received. */
  readonly onLinkReport: (gateway: string, raw: unknown, receivedAtMs: number) => void;
}

export interface ReplicaOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly replica: string;
  readonly leaseTtlMs: number;
  readonly stateKey: StateKey;
  readonly log: Logger;
  readonly count: (event: string) => void;
}

interface PublishedConfig {
  readonly digest: string;
  readonly config: MeshConfig;
  readonly modRevision: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Runs `task` one at a time; a call while one runs is kept (only the newest) and runs after. */
class Latest<T> {
  private running = false;
  private next: T | undefined;
  constructor(private readonly task: (v: T) => Promise<void>) {}
  offer(v: T): void {
    this.next = v;
    if (!this.running) void this.drain();
  }
  private async drain(): Promise<void> {
    this.running = true;
    while (this.next !== undefined) {
      const v = this.next;
      this.next = undefined;
      await this.task(v);
    }
    this.running = false;
  }
}

export class RegionReplica {
  readonly tokens: EtcdJoinTokens;
  readonly election: LeaderElection;
  private handlers: ReplicaHandlers | undefined;
  private watcher: Watcher | undefined;
  private presenceLease: Lease | undefined;
  /** node → replicas with its stream open (from etcd, ours included). */
  private readonly presence = new Map<string, Set<string>>();
  /** node → our own open streams. */
  private readonly ownStreams = new Map<string, number>();
  private published: PublishedConfig | undefined;
  private savedResources: SavedResourceSet | undefined;
  private resourcesDigest: string | undefined;
  private regionStateJws: string | undefined;
  private caSealed: string | undefined;
  private reachable = false;
  private lastError: string | undefined;
  private readonly configPublisher: Latest<{ body: string; floor: number }>;

  constructor(private readonly opts: ReplicaOptions) {
    this.tokens = new EtcdJoinTokens(opts.client, `${opts.prefix}/tokens/`, opts.stateKey, Date.now, () => opts.count('replica_value_unauthenticated'));
    this.election = new LeaderElection({
      client: opts.client,
      key: `${opts.prefix}/leader`,
      replica: opts.replica,
      ttlMs: opts.leaseTtlMs,
      log: opts.log.child({ part: 'election' }),
      onChange: (leading) => this.handlers?.onLeadership(leading),
    });
    this.configPublisher = new Latest((v) => this.publishConfigNow(v.body, v.floor));
  }

  get caKey(): string {
    return `${this.opts.prefix}/ca`;
  }

  /** The sealed CA document in etcd now (read directly: used before the replica follows the prefix). */
  async readCa(): Promise<string | undefined> {
    return (await this.opts.client.get(this.caKey).string()) ?? undefined;
  }

  /** Reads the region's state, then follows it and starts campaigning. */
  async start(handlers: ReplicaHandlers): Promise<void> {
    this.handlers = handlers;
    const { client, prefix } = this.opts;
    await this.grantPresenceLease();
    const all = await client.getAll().prefix(`${prefix}/`).exec();
    for (const kv of all.kvs) this.apply('put', kv);
    this.reachable = true;
    const w = await client.watch().prefix(`${prefix}/`).startRevision(String(Number(all.header.revision) + 1)).create();
    this.watcher = w;
    w.on('put', (kv) => this.apply('put', kv));
    w.on('delete', (kv) => this.apply('delete', kv));
    w.on('connected', () => {
      this.reachable = true;
    });
    w.on('disconnected', (err) => {
      this.reachable = false;
      this.lastError = describeError(err);
      this.opts.log.warn({ err: this.lastError }, 'etcd watch disconnected; serving what we hold, reconnecting');
    });
    w.on('error', (err) => {
      this.lastError = describeError(err);
      this.opts.log.error({ err: this.lastError }, 'etcd watch failed');
    });
    await this.election.start();
  }

  async stop(): Promise<void> {
    await this.election.stop();
    await this.watcher?.cancel().catch(() => undefined);
    await this.presenceLease?.revoke().catch(() => undefined);
    this.opts.client.close();
  }

  isLeader(): boolean {
    return this.election.isLeader();
  }

  status(): { replica: string; leader: string | undefined; leading: boolean; etcdReachable: boolean; lastError: string | undefined; leaderTerms: number } {
    return { replica: this.opts.replica, leader: this.election.leader(), leading: this.isLeader(), etcdReachable: this.reachable, lastError: this.lastError, leaderTerms: this.election.termsHeld() };
  }

  meshConfig(): MeshConfig | undefined {
    return this.published?.config;
  }

  resources(): SavedResourceSet | undefined {
    return this.savedResources;
  }

  regionState(): string | undefined {
    return this.regionStateJws;
  }

  /** Whether any replica holds an open config stream of `node`. */
  isPresent(node: string): boolean {
    return (this.ownStreams.get(node) ?? 0) > 0 || (this.presence.get(node)?.size ?? 0) > 0;
  }

  /** A config stream of `node` opened on this replica; returns the function to call when it closes. */
  present(node: string): () => void {
    const n = (this.ownStreams.get(node) ?? 0) + 1;
    this.ownStreams.set(node, n);
    if (n === 1) void this.putPresence(node);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.ownStreams.get(node) ?? 1) - 1;
      if (left > 0) {
        this.ownStreams.set(node, left);
        return;
      }
      this.ownStreams.delete(node);
      void this.opts.client.delete().key(this.presenceKey(node)).exec().catch((err: unknown) => this.failed('presence delete', err));
    };
  }

  putNode(record: object & { node: string }): void {
    const key = `${this.opts.prefix}/nodes/${record.node}`;
    void this.opts.client.put(key).value(this.sign(key, JSON.stringify(record))).exec().catch((err: unknown) => this.failed('node record write', err));
  }

  putLinkReport(gateway: string, report: unknown): void {
    const key = `${this.opts.prefix}/links/${gateway}`;
    void this.opts.client.put(key).value(this.sign(key, JSON.stringify({ at: Date.now(), report }))).exec().catch((err: unknown) => this.failed('link report write', err));
  }

  /**
   * Leader: publish the config for `body` (the config without its version), unless
   * it is the one published. Its version is one above the published one (and
   * above `floor`, the version a single controller reached before it became a replica).
   */
  publishMeshConfig(body: string, floor: number): void {
    if (!this.isLeader()) return;
    if (this.published?.digest === sha256(body)) return;
    this.configPublisher.offer({ body, floor });
  }

  publishRegionState(jws: string): void {
    if (!this.isLeader() || jws === this.regionStateJws) return;
    void this.fencedPut(`${this.opts.prefix}/region-state`, jws).catch((err: unknown) => this.failed('region state write', err));
  }

  publishResources(saved: SavedResourceSet): void {
    if (!this.isLeader() || saved.digest === this.resourcesDigest) return;
    const doc = { format: 1, generation: saved.generation, digest: saved.digest, loadedAt: new Date(saved.loadedAt).toISOString(), resources: saved.resources };
    void this.fencedPut(`${this.opts.prefix}/resources`, JSON.stringify(doc)).catch((err: unknown) => this.failed('resource set write', err));
  }

  /** Leader: the CA after a rotation step. */
  async publishCa(sealed: string): Promise<void> {
    if (!this.isLeader() || sealed === this.caSealed) return;
    await this.fencedPut(this.caKey, sealed);
  }

  /** A value as stored: authenticated for its key. */
  private sign(key: string, text: string): string {
    return this.opts.stateKey.authenticate(text, key);
  }

  /** A put that lands only while this replica leads (see leader-election.ts); the revision it landed at, or undefined. */
  private async fencedPut(key: string, text: string, extra?: { key: string; modRevision: string }): Promise<string | undefined> {
    // The CA document is sealed (authenticated encryption) already.
    const value = key === this.caKey ? text : this.sign(key, text);
    const { client } = this.opts;
    const fence = this.election.fence();
    let txn = client.if(fence.key, 'Value', '==', fence.value);
    if (extra) txn = txn.and(extra.key, 'Mod', '==', extra.modRevision);
    const r = await txn.then(client.put(key).value(value)).commit();
    if (!r.succeeded) this.opts.count('replica_fenced_write_refused');
    return r.succeeded ? r.header.revision : undefined;
  }

  private async publishConfigNow(body: string, floor: number): Promise<void> {
    const digest = sha256(body);
    const cur = this.published;
    if (cur?.digest === digest || !this.isLeader()) return;
    const version = Math.max(cur?.config.version ?? 0, floor) + 1;
    const config = { version, ...(JSON.parse(body) as Omit<MeshConfig, 'version'>) } as MeshConfig;
    try {
      const revision = await this.fencedPut(`${this.opts.prefix}/mesh-config`, JSON.stringify({ digest, config }), { key: `${this.opts.prefix}/mesh-config`, modRevision: cur?.modRevision ?? '0' });
      if (revision === undefined) {
        this.opts.log.warn({ version }, 'config not published: no longer the leader, or another config was published meanwhile');
        return;
      }
      // Known at once (the next publish compares against it); the watch brings the same value soon.
      this.setPublished({ digest, config, modRevision: revision });
    } catch (err) {
      this.failed('config write', err);
    }
  }

  /** The newest published config (by etcd revision: a late watch event of an older one changes nothing), pushed to this replica's nodes. */
  private setPublished(p: PublishedConfig): void {
    if (this.published && BigInt(p.modRevision) <= BigInt(this.published.modRevision)) return;
    this.published = p;
    this.handlers?.onMeshConfig(p.config);
  }

  private presenceKey(node: string): string {
    return `${this.opts.prefix}/presence/${node}/${this.opts.replica}`;
  }

  private async putPresence(node: string): Promise<void> {
    try {
      if (!this.presenceLease) await this.grantPresenceLease();
      const key = this.presenceKey(node);
      await this.presenceLease!.put(key).value(this.sign(key, this.opts.replica)).exec();
    } catch (err) {
      this.failed('presence write', err);
    }
  }

  private async grantPresenceLease(): Promise<void> {
    const lease = this.opts.client.lease(Math.max(1, Math.ceil(this.opts.leaseTtlMs / 1000)), { autoKeepAlive: true });
    this.presenceLease = lease;
    lease.on('lost', (err) => {
      if (this.presenceLease !== lease) return;
      this.opts.log.warn({ err: describeError(err) }, 'presence lease lost; writing presence again under a new one');
      this.presenceLease = undefined;
      const retry = (): void => {
        void this.grantPresenceLease().then(
          () => Promise.all([...this.ownStreams.keys()].map((n) => this.putPresence(n))),
          (e: unknown) => {
            this.failed('presence lease', e);
            setTimeout(retry, 1000).unref();
          },
        );
      };
      retry();
    });
    await lease.grant();
  }

  private failed(what: string, err: unknown): void {
    this.lastError = `${what}: ${describeError(err)}`;
    this.opts.count('replica_etcd_error');
    this.opts.log.warn({ err: describeError(err) }, `etcd ${what} failed`);
  }

  private apply(op: 'put' | 'delete', kv: IKeyValue): void {
    const h = this.handlers!;
    const fullKey = kv.key.toString('utf8');
    const key = fullKey.slice(this.opts.prefix.length + 1);
    const [head, a, b] = key.split('/');
    if (head === 'leader' || head === 'tokens') return;
    let text = kv.value.toString('utf8');
    if (op === 'put' && head !== 'ca') {
      const verified = this.opts.stateKey.verify(text, fullKey);
      if (verified === undefined) {
        this.opts.count('replica_value_unauthenticated');
        this.opts.log.error({ key }, 'refused a value in etcd that is not authenticated with the state key (written without it, or for another key)');
        return;
      }
      text = verified;
    }
    try {
      switch (head) {
        case 'presence': {
          if (a === undefined || b === undefined) return;
          const set = this.presence.get(a) ?? new Set<string>();
          if (op === 'put') set.add(b);
          else set.delete(b);
          if (set.size > 0) this.presence.set(a, set);
          else this.presence.delete(a);
          h.onPresence();
          return;
        }
        case 'nodes':
          if (op === 'put') h.onNode(JSON.parse(text) as unknown);
          return;
        case 'links': {
          if (op !== 'put' || a === undefined) return;
          const d = JSON.parse(text) as { at?: unknown; report?: unknown };
          if (typeof d.at === 'number') h.onLinkReport(a, d.report, d.at);
          return;
        }
        case 'mesh-config': {
          if (op !== 'put') return;
          const d = JSON.parse(text) as { digest?: unknown; config?: { version?: unknown } };
          if (typeof d.digest !== 'string' || typeof d.config?.version !== 'number' || !Number.isSafeInteger(d.config.version)) throw new Error('expected { digest, config: { version } }');
          // Versions only grow: an older config put back (a replayed value) is not pushed to the nodes again.
          const held = this.published;
          if (held && d.digest !== held.digest && d.config.version <= held.config.version) throw new Error(`config version ${d.config.version} is not above the one held (${held.config.version})`);
          this.setPublished({ digest: d.digest, config: d.config as MeshConfig, modRevision: kv.mod_revision });
          return;
        }
        case 'region-state':
          if (op === 'put') {
            this.regionStateJws = text;
            h.onRegionState(text);
          }
          return;
        case 'resources': {
          if (op !== 'put') return;
          const r = parseSaved(JSON.parse(text) as unknown);
          if (r.kind !== 'ok') throw new Error(r.kind === 'invalid' ? r.reason : 'empty');
          this.savedResources = r.saved;
          this.resourcesDigest = r.saved.digest;
          h.onResources(r.saved);
          return;
        }
        case 'ca':
          if (op === 'put') {
            this.caSealed = text;
            h.onCa(text);
          }
          return;
        default:
          return;
      }
    } catch (err) {
      // One bad value is refused alone: what we hold of that key stays as it was.
      this.opts.count('replica_value_refused');
      this.opts.log.error({ key, err: describeError(err) }, 'refused a value read from etcd');
    }
  }
}
