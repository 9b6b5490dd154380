// The nodes (agents and gateways) enrolled in this region: persisted so a
// restarted controller knows them, plus which ones are connected right now.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import type { NodeKind } from './join-tokens.js';

export interface NodeRecord {
  readonly node: string;
  readonly kind: NodeKind;
  readonly enrolledAt: string;
  /** Address other nodes dial: an agent's inbound port, a gateway's advertised address. */
  advertise?: string;
  lastSeen?: string;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly connected = new Map<string, number>();

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
  ) {
    if (existsSync(path)) for (const n of JSON.parse(readFileSync(path, 'utf8')) as NodeRecord[]) this.nodes.set(n.node, n);
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

  enroll(node: string, kind: NodeKind): void {
    this.nodes.set(node, { node, kind, enrolledAt: new Date().toISOString() });
    this.persist();
    this.onChange();
  }

  /** A config stream opened; returns the function to call when it closes. */
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
