// The last good resource set and its generation, kept on disk (atomic, 0600)
// so that a controller restarted over a broken policy directory serves what it
// served before instead of nothing, and never re-issues a generation.
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { describeError } from '../core/errors.js';
import { RESOURCE_SCHEMAS, isResourceKind, type Resource } from './resources.js';
import { buildResourceSet, digestResources, type ResourceSet } from './resource-set.js';

export interface SavedResourceSet {
  readonly resources: ResourceSet;
  readonly digest: string;
  readonly generation: number;
  /** When the set was loaded from the directory (ms since epoch). */
  readonly loadedAt: number;
}

export type LastGoodRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly saved: SavedResourceSet }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Where the store keeps its last good set. Contract: read never throws; write throws only on I/O errors. */
export interface LastGoodStore {
  /** Where it lives, for log lines and status. */
  readonly location: string;
  read(): LastGoodRead;
  write(saved: SavedResourceSet): void;
}

const FORMAT = 1;

export class LastGoodFile implements LastGoodStore {
  constructor(readonly location: string) {}

  read(): LastGoodRead {
    let text: string;
    try {
      text = readFileSync(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'invalid', reason: `cannot read it: ${describeError(err)}` };
    }
    try {
      return parseSaved(JSON.parse(text) as unknown);
    } catch (err) {
      return { kind: 'invalid', reason: `not JSON: ${describeError(err)}` };
    }
  }

  write(saved: SavedResourceSet): void {
    const doc = { format: FORMAT, generation: saved.generation, digest: saved.digest, loadedAt: new Date(saved.loadedAt).toISOString(), resources: saved.resources };
    writeFileAtomicSync(this.location, `${JSON.stringify(doc)}\n`, 0o600);
  }
}

/**
 * Pure: the saved document back to a set, re-validated by the same schemas as
 * the directory (a file from another version, or edited by hand, is refused
 * whole) and checked against its own digest (a torn or altered file is refused).
 */
export function parseSaved(doc: unknown): LastGoodRead {
  const bad = (reason: string): LastGoodRead => ({ kind: 'invalid', reason });
  if (doc === null || typeof doc !== 'object') return bad('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== FORMAT) return bad(`format ${JSON.stringify(d.format)}, expected ${FORMAT}`);
  if (typeof d.generation !== 'number' || !Number.isSafeInteger(d.generation) || d.generation < 1) return bad('generation is not a positive integer');
  if (typeof d.digest !== 'string' || typeof d.loadedAt !== 'string' || Number.isNaN(Date.parse(d.loadedAt))) return bad('digest or loadedAt missing');
  const set = d.resources as Record<string, unknown> | null | undefined;
  // trafficPolicies and dataRoutes are absent from files written before the kinds existed.
  const lists = [set?.services, set?.workloads, set?.authorizationPolicies, set?.trafficPolicies ?? [], set?.dataRoutes ?? []];
  if (!lists.every(Array.isArray)) return bad('resources is not { services, workloads, authorizationPolicies, trafficPolicies }');
  const resources: Resource[] = [];
  for (const raw of (lists as unknown[][]).flat()) {
    const kind = (raw as { kind?: unknown } | null)?.kind;
    if (!isResourceKind(kind)) return bad(`a resource of unknown kind ${JSON.stringify(kind)}`);
    const parsed = RESOURCE_SCHEMAS[kind].safeParse(raw);
    if (!parsed.success) return bad(`${refOf(kind, raw)} no longer validates: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    resources.push(parsed.data);
  }
  const rebuilt = buildResourceSet(resources);
  const digest = digestResources(rebuilt);
  if (digest !== d.digest) return bad(`its content does not match its digest (${String(d.digest).slice(0, 12)}, content ${digest.slice(0, 12)})`);
  return { kind: 'ok', saved: { resources: rebuilt, digest, generation: d.generation, loadedAt: Date.parse(d.loadedAt) } };
}

function refOf(kind: string, raw: unknown): string {
  const meta = (raw as { metadata?: { namespace?: unknown; name?: unknown } }).metadata;
  return `${kind} ${String(meta?.namespace ?? '?')}/${String(meta?.name ?? '?')}`;
}
