// The nodes (agents and gateways) enrolled in this region: persisted so a
// restarted controller knows them, plus which ones are connected right now.
// Records on disk are checked at load: a bad one is skipped, never fatal.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import * as z from 'zod';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { canonicalIp, isUnspecifiedIp, parseSocketAddress } from '../core/address.js';
import type { Logger } from '../core/log.js';
import type { NodeKind } from './join-tokens.js';

export interface NodeRecord {
  readonly node: string;
  readonly kind: NodeKind;
  readonly enrolledAt: string;
  /** Addresses (canonical IPs) registered with the node's join token; empty: bound to its connection's source. */
  readonly addresses?: readonly string[];
  /** Address other nodes dial: an agent's inbound port, a gateway's advertised address. Only ever a checked value. */
  advertise?: string;
  lastSeen?: string;
}

const zIp = z.string().refine((s) => canonicalIp(s) === s, 'a canonical IP literal');
const zAdvertise = z.string().refine((s) => {
  try {
    const a = parseSocketAddress(s, 'advertise', false);
    return canonicalIp(a.host) !== undefined && !isUnspecifiedIp(canonicalIp(a.host)!);
  } catch {
    return false;
  }
}, 'a literal IP:port');
const recordSchema = z.object({
  node: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label'),
  kind: z.enum(['agent', 'gateway']),
  enrolledAt: z.string(),
  addresses: z.array(zIp).optional(),
  advertise: z.unknown().optional(),
  lastSeen: z.string().optional(),
});

/** Parses the persisted registry: good records, plus one line per record skipped or repaired. */
export function parseRegistryFile(text: string): { records: NodeRecord[]; problems: string[] } {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    return { records: [], problems: [`not JSON (${(err as Error).message})`] };
  }
  if (!Array.isArray(list)) return { records: [], problems: ['expected a JSON array of node records'] };
  const records: NodeRecord[] = [];
  const problems: string[] = [];
  list.forEach((item: unknown, i) => {
    const r = recordSchema.safeParse(item);
    if (!r.success) {
      problems.push(`record ${i} skipped: ${r.error.issues.map((x) => `${x.path.join('.') || '(record)'}: ${x.message}`).join('; ')}`);
      return;
    }
    const { advertise, ...rest } = r.data;
    // A bad advertise drops only the address: the node keeps its enrollment and re-sends it on connect.
    const good = zAdvertise.safeParse(advertise);
    if (advertise !== undefined && !good.success) problems.push(`record ${i} (${rest.node}): advertise ${JSON.stringify(advertise)} dropped: expected a literal IP:port`);
    records.push({ ...rest, ...(good.success ? { advertise: good.data } : {}) });
  });
  return { records, problems };
}

/** Parses one record another controller replica wrote: the same checks as the file's records. */
export function parseSharedRecord(raw: unknown): { record: NodeRecord } | { problem: string } {
  const { records, problems } = parseRegistryFile(JSON.stringify([raw]));
  return records[0] && problems.length === 0 ? { record: records[0] } : { problem: problems.join('; ') || 'not a node record' };
}

/** How the registry is shared by a region's controller replicas (region-replica.ts): absent for a single controller. */
export interface SharedNodes {
  /** Store a record changed here (an enrollment, a new advertise) for the other replicas. */
  write(record: NodeRecord): void;
  /** A config stream opened here; returns the function to call when it closes. */
  present(node: string): () => void;
  /** Whether any replica holds an open config stream of the node. */
  isPresent(node: string): boolean;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly connected = new Map<string, number>();
  private shared: SharedNodes | undefined;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    log?: Logger,
  ) {
    if (!existsSync(path)) return;
    const { records, problems } = parseRegistryFile(readFileSync(path, 'utf8'));
    for (const n of records) this.nodes.set(n.node, n);
    if (problems.length === 0) return;
    if (records.length === 0) {
      // Nothing usable: keep the file for the operator instead of overwriting it on the next enrollment.
      const aside = `${path}.corrupt-${Date.now()}`;
      renameSync(path, aside);
      log?.error({ path, movedTo: aside, problems }, 'node registry unreadable; starting with no enrolled nodes (nodes must enroll again, or restore the file)');
    } else {
      log?.error({ path, problems }, 'node registry has bad records; they were skipped');
    }
  }

  /** From now on, share records and presence with the other replicas; records held here are written there (an upgrade from one controller keeps its nodes). */
  share(shared: SharedNodes, known: (node: string) => boolean): void {
    this.shared = shared;
    for (const r of this.nodes.values()) if (!known(r.node)) shared.write(r);
  }

  /** A record another replica wrote (checked first: a bad one changes nothing here). Returns the problem, if any. */
  applyShared(raw: unknown): string | undefined {
    const r = parseSharedRecord(raw);
    if ('problem' in r) return r.problem;
    const before = this.nodes.get(r.record.node);
    if (before && JSON.stringify(before) === JSON.stringify(r.record)) return undefined;
    this.nodes.set(r.record.node, { ...r.record, ...(before?.lastSeen !== undefined ? { lastSeen: before.lastSeen } : {}) });
    this.persist();
    this.onChange();
    return undefined;
  }

  get(node: string): NodeRecord | undefined {
    return this.nodes.get(node);
  }

  all(): NodeRecord[] {
    return [...this.nodes.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  /** An open config stream, here or (with replicas) on any replica of the region. */
  isConnected(node: string): boolean {
    return (this.connected.get(node) ?? 0) > 0 || (this.shared?.isPresent(node) ?? false);
  }

  enroll(node: string, kind: NodeKind, addresses: readonly string[] = []): void {
    const record: NodeRecord = { node, kind, enrolledAt: new Date().toISOString(), ...(addresses.length > 0 ? { addresses: [...addresses] } : {}) };
    this.nodes.set(node, record);
    this.persist();
    this.shared?.write(record);
    this.onChange();
  }

  /**
   * A config stream opened; returns the function to call when it closes.
   * `advertise` must already have passed checkAdvertise.
   */
  connect(node: string, advertise: string | undefined): () => void {
    const rec = this.nodes.get(node);
    if (rec) {
      rec.lastSeen = new Date().toISOString();
      if (advertise && rec.advertise !== advertise) {
        rec.advertise = advertise;
        this.persist();
        const { lastSeen: _local, ...record } = rec;
        this.shared?.write(record);
      }
    }
    this.connected.set(node, (this.connected.get(node) ?? 0) + 1);
    const leave = this.shared?.present(node);
    this.onChange();
    return () => {
      leave?.();
      this.connected.set(node, Math.max(0, (this.connected.get(node) ?? 1) - 1));
      const r = this.nodes.get(node);
      if (r) r.lastSeen = new Date().toISOString();
      this.onChange();
    };
  }

  private persist(): void {
    writeFileAtomicSync(this.path, JSON.stringify(this.all(), null, 1), 0o600);
  }
}
