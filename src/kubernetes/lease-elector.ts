// Leader election on a Kubernetes Lease (coordination.k8s.io/v1), the way
// Kubernetes' own controllers do it (client-go's leaderelection): a Lease
// names its holder and when it last renewed; the holder renews it every
// retry period; another candidate takes it over only when it has seen the
// same record unchanged for a whole lease duration, timed by its own clock
// (not by the holder's renewTime, so clock skew between nodes does not
// matter). Every write carries the resourceVersion it read, so of two
// candidates racing for an expired Lease the API server lets exactly one win
// (the other gets 409 Conflict). A leader that cannot renew within
// renewDeadline (shorter than the lease duration) steps down before anyone
// else may take over, so two leaders never overlap on one clock rate.
//
// This is the Kubernetes alternative to etcd leases for the controller's
// single-writer work (docs/deploy.md "Leader election on Kubernetes").
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { KubeTransport } from './kube-transport.js';

export interface LeaseElectorOptions {
  readonly transport: KubeTransport;
  readonly namespace: string;
  readonly name: string;
  /** This candidate, e.g. the pod name: written as holderIdentity. */
  readonly identity: string;
  readonly log: Logger;
  /** How long a Lease holds without renewal (default 15 s). */
  readonly leaseDurationMs?: number;
  /** A leader that has not renewed for this long steps down (default 10 s; below leaseDurationMs). */
  readonly renewDeadlineMs?: number;
  /** How often to renew or try to acquire (default 2 s). */
  readonly retryPeriodMs?: number;
  readonly now?: () => number;
  /** Told when this candidate becomes leader (true) or stops being it (false). */
  readonly onChange?: (leading: boolean) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

export class LeaseElector {
  private leading = false;
  private lastRenewed = 0;
  /** The record last seen, and when (our clock) it last changed. */
  private observed: { key: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;
  private readonly path: string;

  constructor(private readonly o: LeaseElectorOptions) {
    if ((o.renewDeadlineMs ?? 10_000) >= (o.leaseDurationMs ?? 15_000)) throw new Error('renewDeadline must be shorter than leaseDuration: a leader must step down before another may take over');
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${o.namespace}/leases`;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const loop = async (): Promise<void> => {
      await this.tryOnce();
      if (this.stopper.signal.aborted) return;
      this.timer = setTimeout(() => void (this.running = loop()), this.o.retryPeriodMs ?? 2000);
      this.timer.unref();
    };
    this.running = loop();
  }

  /** Stops; a leader releases the Lease (renewTime in the past, no holder), so a successor need not wait out the duration. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopper.abort();
    clearTimeout(this.timer);
    await this.running;
    if (this.leading && opts.release !== false) {
      const lease = await this.get(new AbortController().signal).catch(() => undefined);
      if (lease && lease !== 'absent' && lease.spec?.holderIdentity === this.o.identity) {
        await this.o.transport.send('PUT', `${this.path}/${this.o.name}`, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now() - 60_000) } }, new AbortController().signal).catch(() => undefined);
      }
    }
    this.setLeading(false);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, leading ? 'became leader' : 'no longer leader');
    this.o.onChange?.(leading);
  }

  private async get(signal: AbortSignal): Promise<Lease | 'absent'> {
    const r = await this.o.transport.get(`${this.path}/${this.o.name}`, {}, signal);
    if (r.status === 404) return 'absent';
    if (r.status !== 200) throw new Error(`GET lease answered ${r.status}`);
    const lease = r.body as Lease | undefined;
    if (typeof lease?.metadata?.resourceVersion !== 'string') throw new Error('GET lease: not a Lease (no metadata.resourceVersion)');
    return lease;
  }

  private spec(prev: LeaseSpec | undefined, acquiring: boolean): LeaseSpec {
    const t = microTime(this.now());
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil((this.o.leaseDurationMs ?? 15_000) / 1000),
      acquireTime: acquiring ? t : (prev?.acquireTime ?? t),
      renewTime: t,
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (acquiring && prev?.holderIdentity ? 1 : 0),
    };
  }

  private async tryOnce(): Promise<void> {
    const signal = this.stopper.signal;
    if (signal.aborted) return;
    const duration = this.o.leaseDurationMs ?? 15_000;
    try {
      const lease = await this.get(signal);
      const now = this.now();
      if (lease === 'absent') {
        const r = await this.o.transport.send('POST', this.path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: this.spec(undefined, true) }, signal);
        if (r.status === 201 || r.status === 200) this.renewed();
        return this.checkDeadline();
      }
      const spec = lease.spec ?? {};
      // Timed by our clock from when we first saw this exact record: another holder's clock never counts.
      const key = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion}`;
      if (this.observed?.key !== key) this.observed = { key, at: now };
      const mine = spec.holderIdentity === this.o.identity;
      const free = !spec.holderIdentity || now - this.observed.at > (spec.leaseDurationSeconds ? spec.leaseDurationSeconds * 1000 : duration);
      if (!mine && !free) {
        this.setLeading(false);
        return;
      }
      const r = await this.o.transport.send('PUT', `${this.path}/${this.o.name}`, { ...lease, spec: this.spec(spec, !mine) }, signal);
      // 409: someone else wrote first (a renewal, or a rival taking over): read again next period.
      if (r.status === 200) this.renewed();
      else if (r.status === 409 && !mine) this.setLeading(false);
    } catch (err) {
      if (!signal.aborted) this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: describeError(err) }, 'lease election: the API server could not be asked');
    }
    this.checkDeadline();
  }

  private renewed(): void {
    this.lastRenewed = this.now();
    this.setLeading(true);
  }

  private checkDeadline(): void {
    if (this.leading && this.now() - this.lastRenewed > (this.o.renewDeadlineMs ?? 10_000)) {
      this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'could not renew the lease within renewDeadline: stepping down');
      this.setLeading(false);
    }
  }
}
