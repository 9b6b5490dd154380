// Wires a controller replica to the region state in etcd: what arrives from
// the other replicas (nodes, presence, link reports, the leader's config,
// signed state, resource set and CA) goes into this controller's parts, each
// checked as it would be from its first-hand source; then the replica starts
// following and campaigning, and the nodes this controller knew are shared.
import type { Logger } from '../../core/log.js';
import { describeError } from '../../core/errors.js';
import type { MeshConfig } from '../../mesh/mesh-config.js';
import type { FederationState } from '../../federation/federation-state.js';
import { checkLinkReport, LINK_REPORT_TTL_MS, type LinkReports } from '../link-reports.js';
import type { NodeRegistry } from '../node-registry.js';
import type { StartedReplica } from './start-replica.js';
import { verifyRegionState } from '../../identity/region-state.js';

/**
 * The version of a region state the leader signed, checked against our own
 * CA (what peers will check it against); undefined when it does not verify.
 */
export function signedStateVersion(jws: string, started: StartedReplica): number | undefined {
  const v = verifyRegionState(jws, started.ca.bundle());
  if (v.kind !== 'valid') return undefined;
  const version = v.payload.version;
  return typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined;
}

export interface ReplicaWiring {
  readonly log: Logger;
  readonly count: (event: string) => void;
  readonly nodes: NodeRegistry;
  readonly federation: FederationState;
  readonly linkReports: LinkReports;
  readonly peerRegions: ReadonlySet<string>;
  readonly recompute: () => void;
  /** The leader published a config: push it to this replica's nodes. */
  readonly config: (c: MeshConfig) => void;
  /** This replica gained or lost the lead. */
  readonly leadership: (leading: boolean) => Promise<void>;
}

export async function followReplica(started: StartedReplica, w: ReplicaWiring): Promise<void> {
  const { replica } = started;
  const log = w.log.child({ part: 'replica' });
  const fromEtcd = new Set<string>();
  // Leadership changes are handled one after the other, in order.
  let leadershipChain = Promise.resolve();
  await replica.start({
    onLeadership: (leading) => {
      leadershipChain = leadershipChain.then(() => w.leadership(leading)).catch((err: unknown) => log.error({ err: describeError(err), leading }, 'leadership change not completed'));
    },
    onMeshConfig: (c) => w.config(c),
    onRegionState: (jws) => {
      // The leader's own signature is already in its feed. Served to peers only if it verifies against our CA.
      if (replica.isLeader()) return;
      if (signedStateVersion(jws, started) === undefined) {
        w.count('replica_region_state_refused');
        log.error({}, 'refused a region state from etcd that does not verify against the region CA');
        return;
      }
      w.federation.putOwn(jws);
    },
    onResources: () => w.recompute(),
    onCa: (sealed) => {
      if (replica.isLeader()) return;
      void started.followCa(sealed).catch((err: unknown) => {
        w.count('replica_ca_refused');
        log.error({ err: describeError(err) }, "could not adopt the leader's CA from etcd; keeping the one held");
      });
    },
    onNode: (raw) => {
      const problem = w.nodes.applyShared(raw);
      if (problem !== undefined) {
        w.count('replica_node_refused');
        log.error({ problem }, 'refused a node record from etcd');
        return;
      }
      const name = (raw as { node?: unknown }).node;
      if (typeof name === 'string') fromEtcd.add(name);
    },
    onPresence: () => w.recompute(),
    onLinkReport: (gateway, raw, receivedAtMs) => {
      // Reports older than their lifetime say nothing now (read at start, or from a replica that died).
      if (Date.now() - receivedAtMs > LINK_REPORT_TTL_MS) return;
      const c = checkLinkReport(raw);
      const gw = w.nodes.get(gateway);
      if (c.kind !== 'ok' || gw?.kind !== 'gateway') {
        w.count('replica_link_report_refused');
        return;
      }
      if (w.linkReports.put(gateway, c.report, w.peerRegions)) w.recompute();
    },
  });
  w.nodes.share({ write: (r) => replica.putNode(r), present: (n) => replica.present(n), isPresent: (n) => replica.isPresent(n) }, (n) => fromEtcd.has(n));
}
