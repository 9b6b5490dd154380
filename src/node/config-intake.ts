// How a node (agent or gateway) takes in a config: validate it whole, build
// what it runs from (data-plane snapshot, route table), swap that in, and only
// then persist it. A config refused at any step is counted and logged, and the
// last good one stays in force and on disk. The same check guards the cache
// read at start: a cache that does not validate is skipped, never fatal.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { checkMeshConfig } from '../mesh/mesh-config-schema.js';
import type { MeshConfig } from '../mesh/mesh-config.js';

/** What `build` decides: the value to swap in, or why this config cannot run here. */
export type BuildDecision<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'refused'; readonly reason: string; readonly message: string };

export type IntakeResult = { readonly kind: 'applied'; readonly version: number } | { readonly kind: 'refused'; readonly reason: string; readonly message: string };

export interface ConfigIntakeOptions<T> {
  readonly component: 'agent' | 'gateway';
  readonly registry: Registry;
  readonly log: Logger;
  /** Pure: may throw (counted as "unbuildable") or refuse with a reason of its own. */
  readonly build: (c: MeshConfig) => BuildDecision<T>;
  /** Puts the built value in force. */
  readonly swap: (value: T, c: MeshConfig) => void | Promise<void>;
  /** Writes the applied config to disk. */
  readonly persist: (c: MeshConfig) => void;
}

export class ConfigIntake<T> {
  private readonly refusedTotal: Counter<'reason'>;
  private readonly refusals: RateLimitedLog;
  // Configs are taken one at a time, in arrival order: what is on disk is always the newest applied.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ConfigIntakeOptions<T>) {
    this.refusedTotal = new Counter({
      name: `entente_${o.component}_config_refused_total`,
      help: `Configs from the controller (or the disk cache) the ${o.component} refused, by reason; the last good one stayed in force`,
      labelNames: ['reason'],
      registers: [o.registry],
    });
    this.refusals = new RateLimitedLog(o.log, { burst: 5, windowMs: 1000 });
  }

  /** One line of the config stream. */
  offerLine(line: string): Promise<IntakeResult> {
    const next = this.queue.then(() => this.take(line));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * The cached config, checked and built, for start-up; undefined when there
   * is none or it does not pass (logged: the node starts as if none was cached).
   */
  cached(text: string | undefined): { config: MeshConfig; value: T } | undefined {
    if (text === undefined) return undefined;
    const d = this.decide(text);
    if (d.kind === 'refused') {
      this.refusedTotal.inc({ reason: `cache_${d.reason}` });
      this.o.log.error({ reason: d.reason, err: d.message }, 'cached config.json is not usable; starting as if none was cached (the controller will send a fresh one)');
      return undefined;
    }
    return { config: d.config, value: d.value };
  }

  private decide(text: string): { kind: 'ok'; config: MeshConfig; value: T } | { kind: 'refused'; reason: string; message: string } {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { kind: 'refused', reason: 'malformed_json', message: `config is not JSON: ${(err as Error).message}` };
    }
    const checked = checkMeshConfig(raw);
    if (checked.kind === 'invalid') return { kind: 'refused', reason: 'invalid', message: checked.problems.join('; ') };
    try {
      const built = this.o.build(checked.config);
      return built.kind === 'ok' ? { kind: 'ok', config: checked.config, value: built.value } : built;
    } catch (err) {
      return { kind: 'refused', reason: 'unbuildable', message: describeError(err) };
    }
  }

  private async take(line: string): Promise<IntakeResult> {
    const d = this.decide(line);
    if (d.kind === 'refused') return this.refuse(d.reason, d.message, undefined);
    try {
      await this.o.swap(d.value, d.config);
    } catch (err) {
      return this.refuse('apply_failed', describeError(err), d.config.version);
    }
    this.o.persist(d.config);
    return { kind: 'applied', version: d.config.version };
  }

  private refuse(reason: string, message: string, version: number | undefined): IntakeResult {
    this.refusedTotal.inc({ reason });
    this.refusals.warn(`config_${reason}`, { version, err: message }, 'config refused; keeping the last good one (in force and on disk)');
    return { kind: 'refused', reason, message };
  }
}
