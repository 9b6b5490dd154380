// Keeps every local workload's SVID fresh: keys are generated here (they never
// leave the node), certificates are requested from the controller in one batch
// and renewed at half life with jitter. When the controller is unreachable the
// cached SVIDs keep serving until they expire, and the time left is reported.
import { X509Certificate } from 'node:crypto';
import type { Gauge } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { generateKeyPair, privateKeyToPem } from '../identity/keys.js';
import { createCsrPem } from '../identity/csr.js';
import { SpiffeId } from '../identity/spiffe-id.js';
import type { ControllerClient } from './controller-client.js';
import type { NodeState, StoredCredential } from './node-state.js';

export interface WorkloadRef {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
}

export interface ServedCredential {
  readonly spiffeId: SpiffeId;
  readonly certChainPem: string;
  readonly privateKeyPem: string;
  readonly notAfter: Date;
}

const key = (w: { namespace: string; name: string }): string => `${w.namespace}/${w.name}`;

/** Renew when this fraction of the lifetime has passed, with ±10% jitter so a fleet does not renew in step. */
export function renewAtMs(notBeforeMs: number, notAfterMs: number, random: () => number = Math.random): number {
  const life = notAfterMs - notBeforeMs;
  return notBeforeMs + life * (0.5 + (random() - 0.5) * 0.2);
}

export class SvidManager {
  private readonly creds = new Map<string, ServedCredential & { notBeforeMs: number; renewAt: number }>();
  private wanted: WorkloadRef[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private failures = 0;
  private nextAttemptAt = 0;
  private lastWarnAt = 0;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly state: NodeState,
    private readonly client: () => ControllerClient,
    private readonly log: Logger,
    private readonly remaining?: Gauge,
    private readonly now: () => number = Date.now,
  ) {
    for (const k of state.workloadCredentialKeys()) {
      const c = state.workloadCredential(k);
      if (c) this.adopt(k, c);
    }
  }

  /** Called when credentials change (new or renewed SVID). */
  onChange(l: () => void): void {
    this.listeners.push(l);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The workloads placed on this node, from the latest config. */
  setWorkloads(ws: readonly WorkloadRef[]): void {
    this.wanted = [...ws];
    void this.tick();
  }

  credentialsFor(w: { namespace: string; name: string }): ServedCredential | undefined {
    const c = this.creds.get(key(w));
    return c && c.notAfter.getTime() > this.now() ? c : undefined;
  }

  /** Seconds until the soonest expiry among wanted workloads (negative: expired). */
  secondsLeft(): number | undefined {
    const times = this.wanted.map((w) => this.creds.get(key(w))?.notAfter.getTime()).filter((t): t is number => t !== undefined);
    return times.length ? (Math.min(...times) - this.now()) / 1000 : undefined;
  }

  private adopt(k: string, c: StoredCredential): void {
    const notBeforeMs = Date.parse(c.notBefore);
    const notAfterMs = Date.parse(c.notAfter);
    this.creds.set(k, {
      spiffeId: SpiffeId.parse(c.spiffeId),
      certChainPem: c.chainPem,
      privateKeyPem: c.keyPem,
      notAfter: new Date(notAfterMs),
      notBeforeMs,
      renewAt: renewAtMs(notBeforeMs, notAfterMs),
    });
  }

  private async tick(): Promise<void> {
    const t = this.now();
    for (const w of this.wanted) {
      const c = this.creds.get(key(w));
      this.remaining?.set({ workload: key(w) }, c ? Math.max(0, (c.notAfter.getTime() - t) / 1000) : 0);
    }
    const due = this.wanted.filter((w) => {
      const c = this.creds.get(key(w));
      return !c || t >= c.renewAt;
    });
    if (due.length === 0 || this.inFlight || t < this.nextAttemptAt) return;
    this.inFlight = true;
    try {
      await this.renew(due);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.nextAttemptAt = t + Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
      const left = this.secondsLeft();
      if (t - this.lastWarnAt > 10_000) {
        this.lastWarnAt = t;
        this.log.warn(
          { err: describeError(err), secondsLeft: left === undefined ? null : Math.round(left) },
          left === undefined ? 'cannot obtain workload SVIDs; their traffic is refused until the controller answers' : `controller unreachable; serving on cached SVIDs, ${Math.max(0, Math.round(left))} s left before the first expires`,
        );
      }
    } finally {
      this.inFlight = false;
    }
  }

  private async renew(due: readonly WorkloadRef[]): Promise<void> {
    const td = this.state.enrollment()?.trustDomain;
    const pending = await Promise.all(
      due.map(async (w) => {
        const keys = await generateKeyPair();
        return { w, keys, csr: await createCsrPem(keys, `spiffe://${td}/ns/${w.namespace}/sa/${w.serviceAccount}`) };
      }),
    );
    const res = await this.client().post('/v1/svids', { requests: pending.map((p) => ({ namespace: p.w.namespace, name: p.w.name, csr: p.csr })) });
    if (res.status !== 200) throw new Error(`controller answered ${res.status}: ${JSON.stringify(res.body.error ?? res.body)}`);
    const svids = res.body.svids as { namespace: string; name: string; spiffeId?: string; chainPem?: string; notAfter?: string; error?: string }[];
    let changed = false;
    for (const s of svids) {
      const p = pending.find((x) => x.w.namespace === s.namespace && x.w.name === s.name);
      if (!p) continue;
      if (s.error || !s.chainPem || !s.spiffeId || !s.notAfter) {
        this.log.warn({ workload: key(p.w), err: s.error }, 'controller refused a workload SVID');
        continue;
      }
      const stored: StoredCredential = {
        spiffeId: s.spiffeId,
        keyPem: await privateKeyToPem(p.keys.privateKey),
        chainPem: s.chainPem,
        notBefore: new Date(new X509Certificate(s.chainPem).validFrom).toISOString(),
        notAfter: s.notAfter,
      };
      this.state.saveWorkloadCredential(key(p.w), stored);
      this.adopt(key(p.w), stored);
      changed = true;
    }
    if (changed) {
      this.log.info({ workloads: svids.filter((s) => !s.error).map((s) => `${s.namespace}/${s.name}`) }, 'workload SVIDs issued');
      for (const l of this.listeners) l();
    }
  }
}
