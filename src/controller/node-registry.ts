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

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly connected = new Map<string, number>();

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

  get(node: string): NodeRecord | undefined {
    return this.nodes.get(node);
  }

  all(): NodeRecord[] {
    return [...this.nodes.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  isConnected(node: string): boolean {
    return (this.connected.get(node) ?? 0) > 0;
  }

  enroll(node: string, kind: NodeKind, addresses: readonly string[] = []): void {
    this.nodes.set(node, { node, kind, enrolledAt: new Date().toISOString(), ...(addresses.length > 0 ? { addresses: [...addresses] } : {}) });
    this.persist();
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
      }
    }
    this.connected.set(node, (this.connected.get(node) ?? 0) + 1);
    this.onChange();
    return () => {
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
