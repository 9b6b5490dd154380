// Start of a controller replica (region.yaml `etcd`): connects to etcd, reads
// the state key, and loads the region's CA from etcd, or publishes this
// replica's own if etcd holds none yet (the first replica of a new region, or
// a single controller being turned into replicas: its CA, nodes and config
// version carry over). Loaded by import() only with `etcd` configured.
import type { Logger } from '../../core/log.js';
import { EntenteError, describeError } from '../../core/errors.js';
import { LocalCa, type LocalCaOptions } from '../../identity/local-ca.js';
import type { TrustDomain } from '../../identity/spiffe-id.js';
import { connectEtcd, type EtcdConfig } from './etcd-connect.js';
import { StateKey } from './state-key.js';
import { RegionReplica } from './region-replica.js';
import { caDirectoryHolds, openCaDocument, publishCaIfAbsent, sealCaDirectory, writeCaDirectory } from './shared-ca.js';

export interface StartedReplica {
  readonly replica: RegionReplica;
  readonly ca: LocalCa;
  /** Writes the CA document from etcd into the CA directory and reloads it (a follower, or a new leader catching up). */
  followCa(sealed: string): Promise<void>;
  /** Leader: publishes the CA directory (after a rotation step). */
  publishCa(): Promise<void>;
}

export async function startReplica(c: EtcdConfig, region: string, caDir: string, td: TrustDomain, caOptions: LocalCaOptions, log: Logger, count: (event: string) => void): Promise<StartedReplica> {
  const stateKey = StateKey.fromFile(c.stateKeyFile);
  const prefix = c.prefix ?? `/entente/${region}`;
  const client = await connectEtcd(c);
  const replica = new RegionReplica({ client, prefix, replica: c.replica, leaseTtlMs: c.leaseTtl, stateKey, log: log.child({ part: 'replica' }), count });
  const caKey = replica.caKey;
  const adopt = async (sealed: string): Promise<void> => {
    const opened = openCaDocument(sealed, stateKey, caKey, td);
    if (!(await caDirectoryHolds(caDir, opened))) await writeCaDirectory(caDir, opened);
  };
  let existing: string | undefined;
  try {
    existing = await replica.readCa();
  } catch (err) {
    client.close();
    throw new EntenteError('ETCD_UNREACHABLE', `etcd ${c.endpoints.join(', ')}: ${describeError(err)}`, { hint: 'a replica needs etcd to start (one that has started keeps serving its nodes without it)' });
  }
  let ca: LocalCa;
  if (existing !== undefined) {
    await adopt(existing);
    ca = await LocalCa.loadOrCreate(caDir, td, { ...caOptions, maintain: false });
  } else {
    ca = await LocalCa.loadOrCreate(caDir, td, caOptions);
    if (await publishCaIfAbsent(client, caKey, caDir, stateKey)) {
      log.info({ key: caKey }, "etcd held no CA for the region: published this replica's");
    } else {
      // Another replica published first: its CA is the region's.
      const winner = await replica.readCa();
      if (winner === undefined) throw new EntenteError('CA_RACE', `${caKey} vanished while replicas started`);
      await adopt(winner);
      ca = await LocalCa.loadOrCreate(caDir, td, { ...caOptions, maintain: false });
    }
  }
  return {
    replica,
    ca,
    async followCa(sealed) {
      await adopt(sealed);
      await ca.reload();
    },
    async publishCa() {
      await replica.publishCa(await sealCaDirectory(caDir, stateKey, caKey));
    },
  };
}
