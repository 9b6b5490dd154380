// Which controller replica of a region leads, by etcd's documented election
// recipe: the leader key is created only if absent (a transaction), bound to
// the candidate's lease, so it disappears when that replica dies or stops
// renewing; the others watch it and try again when it goes. etcd decides;
// there is no consensus of ours.
//
// Safety: the leader steps down on its own once two keepalives in a row have
// not been confirmed (2/3 of the TTL), before etcd can expire its lease and
// elect another; every write that only the leader may make is a transaction
// guarded by "the leader key still holds my value" (fenced), so a deposed
// leader that has not noticed yet cannot overwrite its successor.
import { randomBytes } from 'node:crypto';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Logger } from '../../core/log.js';
import { describeError } from '../../core/errors.js';

export interface LeaderElectionOptions {
  readonly client: Etcd3;
  /** The election's key, e.g. "/entente/eu/leader". */
  readonly key: string;
  /** This replica's name (shown as the leader). */
  readonly replica: string;
  readonly ttlMs: number;
  readonly log: Logger;
  /** Called whenever this replica gains or loses the lead. */
  readonly onChange: (leading: boolean) => void;
}

/** The value a replica writes to the leader key: its name and a random term, unique per process and term. */
export function leaderValue(replica: string): string {
  return `${replica}#${randomBytes(6).toString('hex')}`;
}

export class LeaderElection {
  private leading = false;
  private value: string;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private lastRenewedAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The replica named in the leader key, as last seen. */
  private leaderName: string | undefined;
  private terms = 0;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.value = leaderValue(opts.replica);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The leading replica's name as last seen (ours when we lead); undefined when none is known. */
  leader(): string | undefined {
    return this.leading ? this.opts.replica : this.leaderName;
  }

  /** Leader terms this replica has held since it started. */
  termsHeld(): number {
    return this.terms;
  }

  /** A comparison that holds only while this replica leads: the fence of leader-only writes. */
  fence(): { key: string; value: string } {
    return { key: this.opts.key, value: this.value };
  }

  async start(): Promise<void> {
    await this.watchLeaderKey();
    void this.campaign();
  }

  /** Steps down (deleting the key if it is still ours, so a successor need not wait out the lease) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.watcher?.cancel().catch(() => undefined);
    const wasLeading = this.leading;
    this.setLeading(false);
    if (wasLeading) {
      await this.opts.client
        .if(this.opts.key, 'Value', '==', this.value)
        .then(this.opts.client.delete().key(this.opts.key))
        .commit()
        .catch(() => undefined);
    }
    await this.lease?.revoke().catch(() => undefined);
  }

  private async watchLeaderKey(): Promise<void> {
    const nameOf = (v: Buffer | undefined): string | undefined => v?.toString('utf8').split('#')[0];
    // Watched from the revision read: a change between the read and the watch is not missed.
    const read = await this.opts.client.get(this.opts.key).exec();
    this.leaderName = nameOf(read.kvs[0]?.value);
    const w = await this.opts.client.watch().key(this.opts.key).startRevision(String(BigInt(read.header.revision) + 1n)).create();
    this.watcher = w;
    w.on('put', (kv) => {
      this.leaderName = nameOf(kv.value);
      if (this.leading && kv.value.toString('utf8') !== this.value) this.stepDown('the leader key now names another replica');
    });
    w.on('delete', () => {
      this.leaderName = undefined;
      if (this.leading) this.stepDown('the leader key was deleted');
      else this.soon(0);
    });
    w.on('error', (err) => this.opts.log.warn({ err: describeError(err) }, 'leader key watch failed'));
  }

  private soon(delayMs: number): void {
    if (this.stopped) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.campaign(), delayMs);
    this.retry.unref();
  }

  private async campaign(): Promise<void> {
    if (this.stopped || this.leading) return;
    const { client, key, ttlMs } = this.opts;
    try {
      if (!this.lease) await this.newLease();
      const leaseId = await this.lease!.grant();
      const r = await client.if(key, 'Create', '==', 0).then(client.put(key).value(this.value).lease(leaseId)).commit();
      if (this.stopped) return;
      if (r.succeeded) {
        this.terms++;
        this.lastRenewedAt = Date.now();
        this.setLeading(true);
        this.watchdog = setInterval(() => {
          // Two keepalives (each every TTL/3) unconfirmed: step down before etcd can expire the lease and elect another.
          if (Date.now() - this.lastRenewedAt > (ttlMs * 2) / 3) this.stepDown(`lease renewal unconfirmed for ${Date.now() - this.lastRenewedAt} ms`);
        }, Math.max(100, Math.floor(ttlMs / 10)));
        this.watchdog.unref();
      } else {
        // Someone leads: the watch brings us back when the key goes; a slow poll covers a missed event.
        this.soon(ttlMs);
      }
    } catch (err) {
      this.opts.log.warn({ err: describeError(err) }, 'leader campaign failed (etcd unreachable?); retrying');
      this.dropLease();
      this.soon(Math.min(1000, ttlMs / 4));
    }
  }

  private async newLease(): Promise<void> {
    const lease = this.opts.client.lease(Math.max(1, Math.ceil(this.opts.ttlMs / 1000)), { autoKeepAlive: true });
    this.lease = lease;
    lease.on('keepaliveSucceeded', () => {
      if (this.lease === lease) this.lastRenewedAt = Date.now();
    });
    lease.on('lost', (err) => {
      if (this.lease !== lease) return;
      this.opts.log.warn({ err: describeError(err) }, 'leader lease lost');
      this.dropLease();
      if (this.leading) this.stepDown('lease lost');
      else this.soon(Math.min(1000, this.opts.ttlMs / 4));
    });
    await lease.grant();
  }

  private dropLease(): void {
    const l = this.lease;
    this.lease = undefined;
    l?.removeAllListeners();
    void l?.revoke().catch(() => undefined);
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.opts.log.warn({ why }, 'stepping down as leader');
    this.setLeading(false);
    // A new lease and a new value: nothing written under the old term can pass the fence of the next.
    this.dropLease();
    this.value = leaderValue(this.opts.replica);
    this.soon(Math.min(1000, this.opts.ttlMs / 4));
  }

  private setLeading(leading: boolean): void {
    if (!leading && this.watchdog) clearInterval(this.watchdog);
    if (leading === this.leading) return;
    this.leading = leading;
    this.opts.log.info({ replica: this.opts.replica }, leading ? 'leading the region (etcd lease held)' : 'following');
    this.opts.onChange(leading);
  }
}
