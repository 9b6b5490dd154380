// Interop with FRR's bgpd, configured as docs/anycast.md shows: Established at
// hold 3 s / keepalive 1 s, the route with AS path, MED and communities, the
// RFC 8326 drain lowering LOCAL_PREF to 0, and the withdrawal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { systemClock } from '../../src/anycast/clock.js';
import { BgpSpeaker } from '../../src/anycast/bgp/bgp-speaker.js';
import { GRACEFUL_SHUTDOWN_COMMUNITY } from '../../src/anycast/bgp/constants.js';
import { parsePrefix } from '../../src/anycast/bgp/prefix.js';
import { parseCommunity } from '../../src/anycast/bgp/route.js';
import { BGPD, FrrRouter, frrConfig } from '../../src/anycast/testbed/frr-router.js';
import { NetnsLab, requireNetns } from '../../src/anycast/testbed/netns.js';
import { eventually, passes } from '../../src/core/eventually.js';
import { pickRootSubnet } from './root-subnet.js';

/** This file's quarter of 198.51.100.0/24 (see root-subnet.ts). */
const SLOT = 2;

interface FrrPath { aspath: { string: string }; metric?: number; locPrf?: number; community?: { string: string }; nexthops: { ip: string }[] }

describe('BGP speaker against FRR bgpd', { timeout: 90_000 }, () => {
  const lab = new NetnsLab();
  let dir = '';
  let frr: FrrRouter;
  let speaker: BgpSpeaker | undefined;
  let ours = '';

  before(async () => {
    await access(BGPD).catch(() => {
      throw new Error(`FRR is not installed (${BGPD} missing): run scripts/setup-test-deps.sh`);
    });
    await requireNetns();
    dir = await mkdtemp(join(tmpdir(), 'entente-frr-'));
    const net = await pickRootSubnet(SLOT);
    ours = net.hosts[0]!;
    const router = await lab.namespace('fr');
    await lab.link({ ns: router, addr: `${net.router}/29` }, { ns: undefined, addr: `${ours}/29` });
    frr = await FrrRouter.start(lab, router, dir, frrConfig({ routerId: net.router, localAs: 65000, neighbor: ours, neighborAs: 65001 }), net.router);
    speaker = new BgpSpeaker([{
      name: 'frr', endpoint: { host: net.router, port: 179, localAddress: ours },
      fsm: { localAs: 65001, peerAs: 65000, bgpId: ours, holdTime: 3, families: [4], connectTimeoutMs: 3000, backoffMinMs: 200, backoffMaxMs: 2000 },
    }], systemClock, silentLogger());
    speaker.start();
  });

  after(async () => {
    await speaker?.stop().catch(() => undefined);
    await lab.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const paths = async (): Promise<FrrPath[]> => (await frr.json<{ paths?: FrrPath[] }>('show bgp ipv4 unicast 203.0.113.10/32')).paths ?? [];
  const route = { prefix: parsePrefix('203.0.113.10/32'), origin: 0 as const, prepend: 1, med: 50, communities: [parseCommunity('65001:100')!] };

  it('reaches Established with hold 3 s and keepalive 1 s', async () => {
    const n = await eventually(passes(async () => {
      const j = await frr.json<Record<string, { bgpState: string; bgpTimerHoldTimeMsecs: number; bgpTimerKeepAliveIntervalMsecs: number }>>(`show bgp neighbors ${ours}`);
      assert.equal(j[ours]?.bgpState, 'Established', frr.log().slice(-300));
      return j[ours]!;
    }), { what: 'FRR to report the session Established' });
    assert.equal(n.bgpTimerHoldTimeMsecs, 3000);
    assert.equal(n.bgpTimerKeepAliveIntervalMsecs, 1000);
  });

  it('installs the announced route with AS path, MED and communities', async () => {
    await speaker!.setRoutes([route]);
    const [p] = await eventually(passes(async () => {
      const ps = await paths();
      assert.equal(ps.length, 1);
      return ps;
    }), { what: 'the prefix in FRR' });
    assert.equal(p!.aspath.string, '65001 65001');
    assert.equal(p!.metric, 50);
    assert.equal(p!.community?.string, '65001:100');
    assert.equal(p!.nexthops[0]?.ip, ours);
  });

  it('a drain (graceful-shutdown community) drops LOCAL_PREF to 0; a withdrawal removes the route', async () => {
    await speaker!.setRoutes([{ ...route, communities: [...route.communities, GRACEFUL_SHUTDOWN_COMMUNITY] }]);
    await eventually(passes(async () => {
      const [p] = await paths();
      assert.equal(p?.locPrf, 0, JSON.stringify(p));
      assert.match(p!.community?.string ?? '', /graceful-shutdown|65535:0/);
    }), { what: 'LOCAL_PREF 0 on the drained route' });
    await speaker!.setRoutes([]);
    await eventually(passes(async () => assert.deepEqual(await paths(), [])), { what: 'the prefix to leave FRR' });
  });
});
