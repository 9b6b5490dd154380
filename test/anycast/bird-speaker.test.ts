// The TypeScript speaker against a real BIRD 2: session at hold 3 s /
// keepalive 1 s, the announced prefix in BIRD's table with our AS path, MED
// and communities, withdrawal, and re-announcement after BIRD resets us.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { systemClock } from '../../src/anycast/clock.js';
import { BgpSpeaker } from '../../src/anycast/bgp/bgp-speaker.js';
import { parsePrefix } from '../../src/anycast/bgp/prefix.js';
import { parseCommunity } from '../../src/anycast/bgp/route.js';
import { BirdRouter, birdConfig } from '../../src/anycast/testbed/bird-router.js';
import { NetnsLab, requireNetns, run } from '../../src/anycast/testbed/netns.js';
import { eventually, passes } from '../../src/core/eventually.js';
import { pickRootSubnet } from './root-subnet.js';

/** This file's quarter of 198.51.100.0/24 (see root-subnet.ts). */
const SLOT = 0;

describe('BGP speaker against BIRD 2', { timeout: 90_000 }, () => {
  const lab = new NetnsLab();
  let dir = '';
  let bird: BirdRouter;
  let speaker: BgpSpeaker | undefined;
  let ours = '';
  let theirs = '';
  let ours6 = '';

  before(async () => {
    await requireNetns();
    dir = await mkdtemp(join(tmpdir(), 'entente-bird-'));
    const net = await pickRootSubnet(SLOT);
    theirs = net.router;
    ours = net.hosts[0]!;
    const router = await lab.namespace('rt');
    const [rtIf, rootIf] = await lab.link({ ns: router, addr: `${theirs}/29` }, { ns: undefined, addr: `${ours}/29` });
    // IPv6 on the same link, for the IPv6 route carried over the IPv4 session (RFC 4760).
    ours6 = net.v6.host;
    await run('ip', ['-n', router, 'addr', 'add', `${net.v6.router}/64`, 'dev', rtIf, 'nodad']);
    await run('ip', ['addr', 'add', `${ours6}/64`, 'dev', rootIf, 'nodad']);
    bird = await BirdRouter.start(lab, router, dir, birdConfig({
      routerId: theirs, kernel: false, ipv6: true,
      neighbors: [{ name: 'site', localAddress: theirs, localAs: 65000, address: ours, as: 65001 }],
    }));
  });

  after(async () => {
    await speaker?.stop().catch(() => undefined);
    await lab.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches Established at hold 3 s / keepalive 1 s and installs the route with AS path, MED and communities', async () => {
    speaker = new BgpSpeaker([{
      name: 'bird', endpoint: { host: theirs, port: 179, localAddress: ours },
      fsm: { localAs: 65001, peerAs: 65000, bgpId: ours, holdTime: 3, families: [4, 6], connectTimeoutMs: 3000, backoffMinMs: 200, backoffMaxMs: 2000 },
    }], systemClock, silentLogger());
    speaker.start();
    await speaker.setRoutes([
      { prefix: parsePrefix('203.0.113.10/32'), origin: 0, prepend: 2, med: 50, communities: [parseCommunity('65001:100')!, parseCommunity('65535:666')!] },
      { prefix: parsePrefix('2001:db8:ffff::/48'), nextHop: ours6, origin: 0, prepend: 0, med: 7, communities: [] },
    ]);
    const proto = await eventually(passes(async () => {
      const p = await bird.protocol('site');
      assert.equal(p?.bgpState, 'Established');
      return p!;
    }), { what: 'BIRD to report the session Established' });
    assert.equal(proto.holdTime, 3);
    assert.equal(proto.keepaliveTime, 1);
    const route = await eventually(passes(async () => {
      const r = await bird.routes('203.0.113.10/32');
      assert.equal(r.length, 1);
      return r[0]!;
    }), { what: 'the prefix in BIRD\'s table' });
    assert.deepEqual(route.asPath, [65001, 65001, 65001]);
    assert.equal(route.med, 50);
    assert.deepEqual(route.communities, ['65001:100', '65535:666']);
    assert.equal(route.nextHop, ours);
    assert.equal(speaker.status()[0]!.holdTime, 3);
    const v6 = await eventually(passes(async () => {
      const r = await bird.routes('2001:db8:ffff::/48');
      assert.equal(r.length, 1);
      return r[0]!;
    }), { what: 'the IPv6 prefix (MP_REACH_NLRI) in BIRD\'s table' });
    assert.deepEqual([v6.asPath, v6.med, v6.nextHop], [[65001], 7, ours6]);
  });

  it('keeps the session up across several hold times (keepalives flow both ways)', async () => {
    const before = await bird.protocol('site');
    await new Promise((r) => setTimeout(r, 4000));
    const afterP = await bird.protocol('site');
    assert.equal(afterP?.bgpState, 'Established');
    assert.equal(speaker!.status()[0]!.establishedCount, 1, `session was reset: ${speaker!.status()[0]!.lastError} / ${before?.lastError}`);
  });

  it('withdraws the route when the desired set empties', async () => {
    await speaker!.setRoutes([]);
    await eventually(passes(async () => assert.deepEqual(await bird.routes('203.0.113.10/32'), [])), { what: 'the prefix to leave BIRD\'s table' });
    await eventually(passes(async () => assert.deepEqual(await bird.routes('2001:db8:ffff::/48'), [])), { what: 'the IPv6 prefix to leave (MP_UNREACH_NLRI)' });
  });

  it('re-announces after BIRD resets the session', async () => {
    await speaker!.setRoutes([{ prefix: parsePrefix('203.0.113.20/32'), origin: 0, prepend: 0, communities: [] }]);
    await eventually(passes(async () => assert.equal((await bird.routes('203.0.113.20/32')).length, 1)), { what: 'the second prefix' });
    await bird.birdc(['restart', 'site']);
    await eventually(passes(() => assert.ok(speaker!.status()[0]!.establishedCount >= 2)), { what: 'the session to come back', timeoutMs: 60_000 });
    await eventually(passes(async () => assert.equal((await bird.routes('203.0.113.20/32')).length, 1)), { what: 'the prefix after the reset' });
  });
});
