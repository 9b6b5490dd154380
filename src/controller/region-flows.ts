// A region's flows for `entente flows` and the dashboard: what its agents
// report (checked by the agent API, stamped here with the reporting node), and
// on request the flows of every peer region that answers in time, each peer
// named in the answer with whether it could be read.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import type { FlowBatchCheck, FlowRefusal, StoredFlow } from '../mesh/flow-wire.js';
import type { PeerConfig } from './controller-config.js';
import { FlowStore, mergeFlows } from './flow-store.js';
import { flowQueryString, type FlowFilter } from './flow-query.js';
import { fetchPeerFlows } from '../federation/peer-flows.js';

export const PEER_FLOWS_TIMEOUT_MS = 2000;

export interface RegionFlowsAnswer {
  readonly region: string;
  readonly generatedAt: number;
  readonly flows: StoredFlow[];
  readonly regions: { region: string; ok: boolean; flows?: number; error?: string }[];
}

export interface RegionFlowsOptions {
  readonly region: string;
  readonly capacity: number;
  readonly peers: readonly PeerConfig[];
  readonly credentials: () => { key: string; cert: string };
  /** The peer's trust anchors (PEM) we hold, undefined before its bundle is known. */
  readonly authoritiesOf: (region: string) => readonly string[] | undefined;
  readonly registry: Registry;
  readonly log: Logger;
}

export class RegionFlows {
  private readonly store: FlowStore;
  private readonly received: Counter;
  private readonly refused: Counter<'reason' | 'from'>;

  constructor(private readonly o: RegionFlowsOptions) {
    this.store = new FlowStore(o.capacity);
    this.received = new Counter({ name: 'entente_controller_flow_records_total', help: "Flow records this region's agents reported and the controller kept", registers: [o.registry] });
    this.refused = new Counter({
      name: 'entente_controller_flow_records_refused_total',
      help: 'Flow records refused at the trust boundary, by reason (malformed, other_region, too_many) and sender (agent or peer)',
      labelNames: ['reason', 'from'],
      registers: [o.registry],
    });
  }

  /** An agent's checked batch: kept with the node that sent it (from its client certificate). */
  report(node: string, batch: FlowBatchCheck): void {
    for (const f of batch.accepted) this.store.add({ ...f, region: this.o.region, node });
    this.received.inc(batch.accepted.length);
    this.countRefused(batch.refused, 'agent');
  }

  local(q: FlowFilter): StoredFlow[] {
    return this.store.query(q);
  }

  async query(q: FlowFilter): Promise<RegionFlowsAnswer> {
    const own = this.local(q);
    const regions: RegionFlowsAnswer['regions'] = [{ region: this.o.region, ok: true, flows: own.length }];
    const lists: StoredFlow[][] = [own];
    if (!q.local) {
      const qs = flowQueryString(q);
      const answers = await Promise.all(
        this.o.peers.map(async (p): Promise<{ region: string; flows?: StoredFlow[]; error?: string }> => {
          const authorities = this.o.authoritiesOf(p.region);
          if (!authorities) return { region: p.region, error: `no bundle for ${p.trustDomain} yet` };
          try {
            const a = await fetchPeerFlows(p, qs, { credentials: this.o.credentials(), authorities, timeoutMs: PEER_FLOWS_TIMEOUT_MS, maxRecords: q.limit });
            this.countRefused(a.refused, 'peer');
            return { region: p.region, flows: a.flows };
          } catch (err) {
            return { region: p.region, error: describeError(err) };
          }
        }),
      );
      for (const a of answers) {
        if (a.flows !== undefined) {
          lists.push(a.flows);
          regions.push({ region: a.region, ok: true, flows: a.flows.length });
        } else {
          regions.push({ region: a.region, ok: false, error: a.error ?? 'unknown' });
          this.o.log.debug({ peer: a.region, err: a.error }, 'peer flows could not be read');
        }
      }
    }
    return { region: this.o.region, generatedAt: Date.now(), flows: mergeFlows(lists, q.limit), regions };
  }

  private countRefused(refused: Partial<Record<FlowRefusal, number>>, from: 'agent' | 'peer'): void {
    for (const [reason, n] of Object.entries(refused)) this.refused.inc({ reason, from }, n);
  }
}
