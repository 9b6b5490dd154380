// Two announcers (two sites) against BIRD 2, each with a real HTTP health
// check: BIRD prefers the unprepended site; when its health fails BIRD moves
// to the standby; when both fail the prefix is gone. Also `anycast status`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/core/log.js';
import { parseAnycastConfig } from '../../src/anycast/config.js';
import { type AnycastDaemon, startAnycastDaemon } from '../../src/anycast/anycast-daemon.js';
import { fetchStatus } from '../../src/anycast/cli.js';
import { formatStatus } from '../../src/anycast/status-format.js';
import { BirdRouter, birdConfig } from '../../src/anycast/testbed/bird-router.js';
import { NetnsLab, requireNetns, run } from '../../src/anycast/testbed/netns.js';
import { eventually, passes } from '../../src/core/eventually.js';
import { pickRootSubnet } from './root-subnet.js';

/** This file's quarter of 198.51.100.0/24 (see root-subnet.ts). */
const SLOT = 1;

const PREFIX = '203.0.113.10/32';

interface Site { name: string; address: string; healthy: boolean; http: Server; daemon?: AnycastDaemon }

describe('two anycast sites against BIRD 2', { timeout: 120_000 }, () => {
  const lab = new NetnsLab();
  let dir = '';
  let bird: BirdRouter;
  let routerAddr = '';
  const sites: Site[] = [];

  async function healthServer(site: Omit<Site, 'http'>): Promise<Server> {
    const s = createServer((_req, res) => res.writeHead((site as Site).healthy ? 200 : 503).end());
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return s;
  }

  before(async () => {
    await requireNetns();
    dir = await mkdtemp(join(tmpdir(), 'entente-2sites-'));
    const net = await pickRootSubnet(SLOT);
    routerAddr = net.router;
    const router = await lab.namespace('rt');
    const [, rootIf] = await lab.link({ ns: router, addr: `${routerAddr}/29` }, { ns: undefined, addr: `${net.hosts[0]}/29` });
    await run('ip', ['addr', 'add', `${net.hosts[1]}/29`, 'dev', rootIf]);
    for (const [name, address] of [['a', net.hosts[0]!], ['b', net.hosts[1]!]] as const) {
      const site = { name, address, healthy: true } as Site;
      site.http = await healthServer(site);
      sites.push(site);
    }
    bird = await BirdRouter.start(lab, router, dir, birdConfig({
      routerId: routerAddr, kernel: false,
      neighbors: sites.map((s) => ({ name: `site_${s.name}`, localAddress: routerAddr, localAs: 65000, address: s.address, as: 65001 })),
    }));
    for (const [i, s] of sites.entries()) {
      const cfg = parseAnycastConfig({
        localAs: 65001, routerId: s.address,
        peers: [{ name: 'bird', address: routerAddr, remoteAs: 65000, localAddress: s.address, holdTime: '3s', reconnect: { min: '200ms', max: '2s' } }],
        // Site b is the standby: two extra copies of the AS and a worse MED.
        announce: [{ prefix: PREFIX, prepend: i === 0 ? 0 : 2, med: i === 0 ? 10 : 50, communities: [`65001:${100 + i}`] }],
        health: { interval: '300ms', fastInterval: '100ms', rise: 2, fall: 2, checks: [{ type: 'http', url: `http://127.0.0.1:${(s.http.address() as AddressInfo).port}/healthz`, timeout: '200ms' }] },
        status: { listen: '127.0.0.1:0' },
      });
      s.daemon = await startAnycastDaemon(cfg, silentLogger());
    }
  });

  after(async () => {
    for (const s of sites) {
      await s.daemon?.stop().catch(() => undefined);
      s.http.closeAllConnections();
      await new Promise<void>((r) => s.http.close(() => r()));
    }
    await lab.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const primary = async () => (await bird.routes(PREFIX)).find((r) => r.primary);

  it('BIRD holds both routes with their AS paths, MEDs and communities and prefers the unprepended site', async () => {
    const routes = await eventually(passes(async () => {
      const r = await bird.routes(PREFIX);
      assert.equal(r.length, 2);
      return r;
    }), { what: 'both sites\' routes in BIRD' });
    const a = routes.find((r) => r.protocol === 'site_a')!;
    const b = routes.find((r) => r.protocol === 'site_b')!;
    assert.deepEqual([a.asPath, a.med, a.communities, a.nextHop], [[65001], 10, ['65001:100'], sites[0]!.address]);
    assert.deepEqual([b.asPath, b.med, b.communities, b.nextHop], [[65001, 65001, 65001], 50, ['65001:101'], sites[1]!.address]);
    assert.equal((await primary())?.protocol, 'site_a');
    const p = await bird.protocol('site_a');
    assert.deepEqual([p?.bgpState, p?.holdTime, p?.keepaliveTime], ['Established', 3, 1]);
  });

  it('failing the preferred site\'s health check withdraws it and BIRD moves to the standby', async () => {
    sites[0]!.healthy = false;
    await eventually(passes(async () => {
      const r = await bird.routes(PREFIX);
      assert.deepEqual(r.map((x) => x.protocol), ['site_b']);
      assert.ok(r[0]!.primary);
    }), { what: 'site a to be withdrawn and site b selected' });
    const st = await fetchStatus(sites[0]!.daemon!.status.url);
    assert.equal(st.announcement.state, 'withdrawn');
    assert.equal(st.sessions[0]!.state, 'established', 'the session stays up: only the route goes');
    assert.deepEqual(st.sessions[0]!.announced, []);
    assert.ok(st.history.some((h) => h.event === 'withdraw'));
  });

  it('when the standby fails too, the prefix leaves BIRD\'s table', async () => {
    sites[1]!.healthy = false;
    await eventually(passes(async () => assert.deepEqual(await bird.routes(PREFIX), [])), { what: 'no route left' });
  });

  it('both sites come back after their first withdrawal (a short flap-guard hold) and site a is preferred again', async () => {
    sites[0]!.healthy = true;
    sites[1]!.healthy = true;
    await eventually(passes(async () => {
      const r = await bird.routes(PREFIX);
      assert.equal(r.length, 2);
      assert.equal(r.find((x) => x.primary)?.protocol, 'site_a');
    }), { what: 'both routes back, site a preferred' });
  });

  it('a second flap of site a is held back by the flap guard, and status says so', async () => {
    sites[0]!.healthy = false;
    await eventually(passes(async () => assert.deepEqual((await bird.routes(PREFIX)).map((x) => x.protocol), ['site_b'])), { what: 'site a withdrawn again' });
    sites[0]!.healthy = true;
    const st = await eventually(passes(async () => {
      const s = await fetchStatus(sites[0]!.daemon!.status.url);
      assert.ok(s.health.healthy);
      assert.ok(s.announcement.holdUntil !== undefined);
      return s;
    }), { what: 'site a healthy but held' });
    assert.equal(st.announcement.state, 'withdrawn');
    // Two withdrawals within seconds: ~2000 must decay to 999, one half-life (15 min).
    assert.ok(st.announcement.holdUntil! - st.now > 10 * 60_000, `held for ${st.announcement.holdUntil! - st.now} ms`);
    assert.ok(st.flapPenalty < 2000 && st.flapPenalty > 1900, `penalty ${st.flapPenalty}`);
    assert.match(formatStatus(st), /flap guard holds re-announcement/);
    assert.deepEqual((await bird.routes(PREFIX)).map((x) => x.protocol), ['site_b']);
  });

  it('`entente anycast status` prints sessions, routes, health and history (human and --json)', async () => {
    const cli = join(process.cwd(), 'dist/src/anycast/main.js');
    const url = sites[1]!.daemon!.status.url;
    const human = (await promisify(execFile)(process.execPath, [cli, 'anycast', 'status', '--status-url', url])).stdout;
    assert.match(human, /announcement: ANNOUNCED/);
    assert.match(human, /bird .*AS65000: established/);
    assert.match(human, /history:[\s\S]*announce[\s\S]*withdraw/);
    const json = JSON.parse((await promisify(execFile)(process.execPath, [cli, 'anycast', 'status', '--status-url', url, '--json'])).stdout) as { sessions: { holdTime: number }[] };
    assert.equal(json.sessions[0]!.holdTime, 3);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /entente_anycast_bgp_session_established\{peer="bird"\} 1/);
    assert.match(metrics, /entente_anycast_announced 1/);
  });
});
