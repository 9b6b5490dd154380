// The Kubernetes source of a controller's resources (docs/deploy.md
// "Kubernetes"): one reflector per kind it reads (Services, EndpointSlices,
// Pods, ServiceAccounts, and Entente's CRDs), translated into resources
// (translate.ts) and checked one by one with the same schemas as a file. A
// resource that fails is refused, counted and logged, and the rest is served:
// one bad object in a cluster must not hold back every other change. Until
// every reflector has listed once, the source is not synced, and the resource
// store refuses to load (the set in force stays) rather than serve a partial
// cluster as if it were the whole.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { parseResourceText, type ParsedFile } from '../policy/load-resources.js';
import { CRD_GROUP, CRD_NAMES, CRD_VERSION } from './crds.js';
import { Reflector, type KubeObject } from './reflector.js';
import type { KubeTransport } from './kube-transport.js';
import { translate, type KubeObjects } from './translate.js';
import { RESOURCE_KINDS } from '../policy/resources.js';

export type SourceLoad = { readonly kind: 'ready'; readonly files: readonly ParsedFile[] } | { readonly kind: 'not-synced'; readonly reason: string };

/** What the resource store asks of an extra source of resources. */
export interface ResourceSource {
  load(): SourceLoad;
}

type Collection = 'services' | 'endpointSlices' | 'pods' | 'serviceAccounts';

const CORE: readonly { key: Collection; group: string; resource: string; path: string }[] = [
  { key: 'services', group: '', resource: 'services', path: '/api/v1/services' },
  { key: 'endpointSlices', group: 'discovery.k8s.io', resource: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { key: 'pods', group: '', resource: 'pods', path: '/api/v1/pods' },
  { key: 'serviceAccounts', group: '', resource: 'serviceaccounts', path: '/api/v1/serviceaccounts' },
];

/**
 * Every collection the source lists and watches, in every namespace, by API
 * group and resource: what its service account must be granted (list and
 * watch, nothing else; the RBAC of deploy/kubernetes/base is tested against it).
 */
export function watchedCollections(): { readonly group: string; readonly resource: string; readonly path: string }[] {
  return [
    ...CORE.map(({ group, resource, path }) => ({ group, resource, path })),
    ...RESOURCE_KINDS.map((kind) => ({ group: CRD_GROUP, resource: CRD_NAMES[kind].plural, path: `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_NAMES[kind].plural}` })),
  ];
}

export class KubernetesSource implements ResourceSource {
  private readonly core = new Map<Collection, Reflector>();
  private readonly custom: Reflector[] = [];
  private readonly refused: Counter<'reason'>;
  /** The refusals of the last load: each is counted and logged once, when it first appears. */
  private lastRefusals = new Set<string>();

  constructor(private readonly o: { transport: KubeTransport; log: Logger; registry: Registry; onChange: () => void; watchTimeoutS?: number; idleTimeoutMs?: number; backoff?: { initialMs: number; maxMs: number } }) {
    this.refused = new Counter({ name: 'entente_kubernetes_refused_total', help: 'Kubernetes objects not turned into resources: malformed, unmappable (reason), or failing the resource schemas (invalid)', labelNames: ['reason'], registers: [o.registry] });
    const make = (resource: string, path: string): Reflector =>
      new Reflector({ resource, path, namespaced: true, transport: o.transport, log: o.log, onChange: o.onChange, ...(o.watchTimeoutS !== undefined ? { watchTimeoutS: o.watchTimeoutS } : {}), ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}), ...(o.backoff ? { backoff: o.backoff } : {}) });
    for (const c of CORE) this.core.set(c.key, make(c.resource, c.path));
    for (const c of watchedCollections()) if (c.group === CRD_GROUP) this.custom.push(make(`${c.resource}.${CRD_GROUP}`, c.path));
  }

  private all(): Reflector[] {
    return [...this.core.values(), ...this.custom];
  }

  start(): void {
    for (const r of this.all()) r.start();
  }

  /** Resolves when every collection has been listed, or after `timeoutMs` (false). */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.all().some((r) => !r.hasSynced)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  /** A pod as the pod reflector last saw it (node attestation asks for the agent's own pod). */
  pod(namespace: string, name: string): KubeObject | undefined {
    return this.core.get('pods')!.get(`${namespace}/${name}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((r) => r.stop()));
  }

  load(): SourceLoad {
    const waiting = this.all().filter((r) => !r.hasSynced).length;
    if (waiting > 0) return { kind: 'not-synced', reason: `${waiting} of ${this.all().length} Kubernetes collections have not been listed yet` };
    const items = (k: Collection): KubeObject[] => this.core.get(k)!.items();
    const objs: KubeObjects = { services: items('services'), endpointSlices: items('endpointSlices'), pods: items('pods'), serviceAccounts: items('serviceAccounts'), custom: this.custom.flatMap((r) => r.items()) };
    const { docs, skipped } = translate(objs);
    const files: ParsedFile[] = [];
    const refusals = new Map<string, 'unmappable' | 'invalid'>();
    for (const s of skipped) refusals.set(`${s.origin}: ${s.reason}`, 'unmappable');
    for (const d of docs) {
      const parsed = parseResourceText(d.origin, d.text);
      if (parsed.errors.length > 0) refusals.set(`${d.origin}: ${parsed.errors.map((e) => e.message).join('; ')}`, 'invalid');
      else files.push(parsed);
    }
    // Counted and logged as they appear, not again on every reload while they last.
    const fresh = [...refusals.keys()].filter((r) => !this.lastRefusals.has(r));
    for (const r of fresh) this.refused.inc({ reason: refusals.get(r)! });
    if (fresh.length > 0) this.o.log.warn({ count: fresh.length, first: fresh.slice(0, 10) }, 'Kubernetes objects not served as resources');
    this.lastRefusals = new Set(refusals.keys());
    return { kind: 'ready', files };
  }
}
