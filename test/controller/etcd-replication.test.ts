// The etcd primitives controller replicas stand on, against a real etcd:
// one leader at a time (never two, also when the leader is cut off from
// etcd: it steps down before its successor is elected), the fence that stops
// a deposed leader's writes, join tokens redeemed once across replicas that
// race for them, and values in etcd that do not parse refused one by one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Etcd3 } from 'etcd3';
import { eventually } from '../../src/core/eventually.js';
import { silentLogger } from '../../src/core/log.js';
import { LeaderElection } from '../../src/controller/replication/leader-election.js';
import { EtcdJoinTokens } from '../../src/controller/replication/etcd-join-tokens.js';
import { RegionReplica, type ReplicaHandlers } from '../../src/controller/replication/region-replica.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { StateKey } from '../../src/controller/replication/state-key.js';
import { startEtcd, type EtcdServer } from './etcd-server.js';

// Third octet 245 of a data-probes prefix (127.231-234): no lab and no other test uses it.
const ip = `127.${231 + randomInt(0, 4)}.245.${randomInt(1, 250)}`;
const TTL_MS = 2000;
const stateKey = StateKey.fromBytes(randomBytes(32));
let dir: string;
let etcd: EtcdServer | undefined;
const clients: Etcd3[] = [];
const client = (url = etcd!.url): Etcd3 => {
  const c = new Etcd3({ hosts: url, defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 3000 }) });
  clients.push(c);
  return c;
};

/** A TCP relay to etcd that the test can cut: every connection through it dies and new ones are refused (a replica cut off from etcd). */
async function relayToEtcd(): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(etcd!.url);
  const sockets = new Set<Socket>();
  let cutOff = false;
  const server = createServer((inbound) => {
    if (cutOff) return inbound.destroy();
    const outbound = connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  return {
    url: `http://${ip}:${(server.address() as AddressInfo).port}`,
    cut() {
      cutOff = true;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
let caPem: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-etcd-'));
  etcd = await startEtcd(join(dir, 'etcd'), ip);
  caPem = (await LocalCa.loadOrCreate(join(dir, 'ca'), parseTrustDomain('eu.test'))).caCertPem;
});

after(async () => {
  for (const c of clients) c.close();
  await etcd?.close();
  await rm(dir, { recursive: true, force: true });
});

test('one leader of three; never two at once; a stopped leader is succeeded at once, one cut off from etcd steps down before its lease runs out', { timeout: 120_000 }, async () => {
  const key = `/t${randomInt(1e9)}/leader`;
  const relays = await Promise.all([relayToEtcd(), relayToEtcd(), relayToEtcd()]);
  const cs = relays.map((r) => client(r.url));
  const elections = cs.map((c, i) => new LeaderElection({ client: c, key, replica: `c${i}`, ttlMs: TTL_MS, log: silentLogger(), onChange: () => undefined }));
  let maxAtOnce = 0;
  const sampler = setInterval(() => (maxAtOnce = Math.max(maxAtOnce, elections.filter((e) => e.isLeader()).length)), 10);
  try {
    for (const e of elections) await e.start();
    const first = await eventually(() => elections.find((e) => e.isLeader()), { what: 'a leader', timeoutMs: 30_000 });
    await eventually(() => elections.every((e) => e.leader() === first.leader()) || undefined, { what: 'every replica to know the leader', timeoutMs: 30_000 });

    // Graceful: the key is deleted, the next one need not wait for the lease.
    const stoppedAt = Date.now();
    await first.stop();
    const second = await eventually(() => elections.find((e) => e !== first && e.isLeader()), { what: 'a successor', timeoutMs: 30_000 });
    assert.ok(Date.now() - stoppedAt < 30_000);

    // Cut off: its connections to etcd die (keepalives stop, calls fail). It must stop leading on its own.
    const fence = second.fence();
    const cutAt = Date.now();
    relays[elections.indexOf(second)]!.cut();
    await eventually(() => !second.isLeader() || undefined, { what: 'the cut-off leader to step down', timeoutMs: 30_000 });
    const steppedDownMs = Date.now() - cutAt;
    const third = await eventually(() => elections.find((e) => e !== first && e !== second && e.isLeader()), { what: 'the last replica to lead', timeoutMs: 30_000 });
    assert.ok(steppedDownMs < TTL_MS + 1000, `stepped down after ${steppedDownMs} ms`);

    // The fence: a write guarded by the deposed leader's term does not land.
    const c = cs[elections.indexOf(third)]!;
    const r = await c.if(fence.key, 'Value', '==', fence.value).then(c.put(`${key}-data`).value('from the old leader')).commit();
    assert.equal(r.succeeded, false, "the old leader's fenced write is refused");
    const ok = await c.if(third.fence().key, 'Value', '==', third.fence().value).then(c.put(`${key}-data`).value('from the leader')).commit();
    assert.equal(ok.succeeded, true);
    assert.equal(maxAtOnce, 1, 'never two leaders at once');
    await third.stop();
  } finally {
    clearInterval(sampler);
    for (const e of elections) await e.stop().catch(() => undefined);
    for (const r of relays) r.cut();
    await Promise.all(relays.map((r) => r.close()));
  }
});

test('a join token redeemed through two replicas at once enrolls once; a kind mismatch does not consume it', { timeout: 60_000 }, async () => {
  const prefix = `/t${randomInt(1e9)}/tokens/`;
  const forged: number[] = [];
  const a = new EtcdJoinTokens(client(), prefix, stateKey);
  const b = new EtcdJoinTokens(client(), prefix, stateKey, Date.now, () => forged.push(1));
  const { token } = await a.create('edge-1', 'agent', 60_000, caPem);
  assert.equal((await b.redeem(token, 'edge-1', 'gateway')).kind, 'refused', 'an agent token does not enroll a gateway');
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).redeem(token, 'edge-1', 'agent')));
  assert.equal(results.filter((r) => r.kind === 'ok').length, 1, JSON.stringify(results));
  for (const r of results.filter((x) => x.kind === 'refused')) assert.equal(r.kind === 'refused' && r.code, 'TOKEN_REPLAYED');
  assert.equal((await b.redeem('ej1.nope', 'edge-1', 'agent')).kind, 'refused');
  const wrongSecret = token.replace(/^(ej1\.[^.]+\.)([^.])/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
  const other = await a.create('edge-2', 'agent', 60_000, caPem);
  assert.equal((await b.redeem(other.token.replace(/^(ej1\.[^.]+\.)([^.])/, (_m, h: string, c: string) => h + (c === 'A' ? 'B' : 'A')), 'edge-2', 'agent')).kind, 'refused', 'a wrong secret is refused');
  assert.equal((await b.redeem(other.token, 'edge-2', 'agent')).kind, 'ok', '…and did not consume the token');
  assert.ok(wrongSecret !== token);

  // Someone who can write to etcd but has no state key writes a token record of their own: it enrolls nobody.
  const minted = new EtcdJoinTokens(client(), prefix, StateKey.fromBytes(randomBytes(32)));
  const fake = await minted.create('rogue', 'agent', 60_000, caPem);
  const r = await b.redeem(fake.token, 'rogue', 'agent');
  assert.equal(r.kind === 'refused' && r.code, 'TOKEN_UNKNOWN');
  assert.equal(forged.length, 1, 'counted');
});

test('values in etcd that are not authenticated with the state key, or do not parse, are refused and counted, one by one; good ones still apply', { timeout: 60_000 }, async () => {
  const prefix = `/t${randomInt(1e9)}`;
  const admin = client();
  const counted: string[] = [];
  const seen = { configs: [] as number[], nodes: [] as unknown[], resources: 0 };
  const handlers: ReplicaHandlers = {
    onLeadership: () => undefined,
    onMeshConfig: (c) => seen.configs.push(c.version),
    onRegionState: () => undefined,
    onResources: () => seen.resources++,
    onCa: () => undefined,
    onNode: (raw) => seen.nodes.push(raw),
    onPresence: () => undefined,
    onLinkReport: () => undefined,
  };
  // What another replica would write: authenticated for its key.
  const put = (key: string, text: string): Promise<unknown> => admin.put(`${prefix}/${key}`).value(stateKey.authenticate(text, `${prefix}/${key}`)).exec();
  await put('mesh-config', '{"not": "a config"');
  await put('resources', JSON.stringify({ format: 1, generation: 1, digest: 'x', loadedAt: new Date().toISOString(), resources: { services: [], workloads: [], authorizationPolicies: [] } }));
  // Written by someone without the state key, or moved from another key: well-formed, refused all the same.
  await admin.put(`${prefix}/nodes/rogue`).value(JSON.stringify({ node: 'rogue', kind: 'agent', enrolledAt: new Date().toISOString() }));
  await admin.put(`${prefix}/nodes/rogue2`).value(stateKey.authenticate(JSON.stringify({ node: 'rogue2', kind: 'agent', enrolledAt: new Date().toISOString() }), `${prefix}/nodes/other`));
  const replica = new RegionReplica({ client: client(), prefix, replica: 'r1', leaseTtlMs: TTL_MS, stateKey, log: silentLogger(), count: (e) => counted.push(e) });
  try {
    await replica.start(handlers);
    assert.deepEqual(counted.filter((c) => c === 'replica_value_refused').length, 2, 'the torn config and the set whose digest does not match');
    assert.deepEqual(counted.filter((c) => c === 'replica_value_unauthenticated').length, 2, 'the two node records');
    assert.deepEqual(seen.nodes, []);
    assert.equal(replica.meshConfig(), undefined);
    assert.equal(replica.resources(), undefined);
    await put('mesh-config', JSON.stringify({ digest: 'd1', config: { version: 7 } }));
    await eventually(() => seen.configs.includes(7) || undefined, { what: 'the good config to apply', timeoutMs: 20_000 });
    await put('mesh-config', JSON.stringify({ digest: 'd2', config: { version: 'eight' } }));
    await admin.put(`${prefix}/mesh-config`).value(JSON.stringify({ digest: 'd2b', config: { version: 8 } }));
    await put('mesh-config', JSON.stringify({ digest: 'd3', config: { version: 9 } }));
    await eventually(() => seen.configs.includes(9) || undefined, { what: 'the next good config to apply', timeoutMs: 20_000 });
    assert.deepEqual(seen.configs, [7, 9], 'the malformed and the unauthenticated ones in between changed nothing');
    // An authenticated but older config put back (a replay by someone with etcd access): refused, versions only grow.
    await put('mesh-config', JSON.stringify({ digest: 'd1', config: { version: 7 } }));
    await eventually(() => counted.filter((c) => c === 'replica_value_refused').length === 4 || undefined, { what: 'the replayed config to be refused', timeoutMs: 20_000 });
    assert.equal(replica.meshConfig()?.version, 9);
    assert.equal(replica.meshConfig()?.version, 9);
  } finally {
    await replica.stop();
  }
});
