// The whole story in network namespaces: a BIRD router installing routes into
// its kernel table, two sites announcing and serving 203.0.113.10, a client
// calling that one address. Kill the preferred site's service and the client
// is served by the other site, same address; SIGTERM and the maintenance file
// move traffic gracefully.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnycastLab, SERVICE_ADDRESS } from '../../src/anycast/testbed/anycast-lab.js';
import { requireNetns } from '../../src/anycast/testbed/netns.js';
import { eventually, passes } from '../../src/core/eventually.js';

describe('anycast failover in network namespaces', { timeout: 150_000 }, () => {
  let dir = '';
  let lab: AnycastLab;

  before(async () => {
    await requireNetns();
    dir = await mkdtemp(join(tmpdir(), 'entente-anycast-lab-'));
    lab = new AnycastLab(dir);
    await lab.start();
    lab.startProbe(20);
  });

  after(async () => {
    await lab?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const servedBy = (since: number, site: string, n = 5) => {
    const recent = lab.probes.filter((p) => p.t >= since).slice(-n);
    assert.equal(recent.length, n, `only ${recent.length} probes since then`);
    assert.ok(recent.every((p) => p.ok && p.site === site), `last probes: ${JSON.stringify(recent)}`);
  };
  const [a, b] = [() => lab.sites[0]!, () => lab.sites[1]!];

  it('the client reaches the preferred site through the router', async () => {
    await eventually(passes(() => servedBy(0, 'a')), { what: 'the client to be served by site a', timeoutMs: 60_000 });
    assert.equal(await lab.kernelNextHop(), a().address);
    const st = await lab.status(a());
    assert.equal(st.announcement.state, 'announced');
    assert.equal(st.sessions[0]!.state, 'established');
    await eventually(passes(async () => assert.equal((await lab.bird.routes(`${SERVICE_ADDRESS}/32`)).length, 2)), { what: 'the standby route too' });
  });

  it('killing the preferred site\'s service moves the client to the other site, same address', async () => {
    const t0 = Date.now();
    await lab.killService(a());
    await eventually(passes(() => servedBy(t0, 'b')), { what: 'the client to be served by site b', timeoutMs: 60_000 });
    const first = lab.probes.find((p) => p.t >= t0 && p.ok && p.site === 'b')!;
    const failoverMs = first.t - t0;
    assert.equal(await lab.kernelNextHop(), b().address);
    assert.deepEqual((await lab.bird.routes(`${SERVICE_ADDRESS}/32`)).map((r) => r.protocol), ['site_b']);
    assert.ok(failoverMs < 3000, `failover took ${failoverMs} ms`);
    process.stderr.write(`# failover to site b after ${failoverMs} ms\n`);
  });

  it('the preferred site takes the address back when it recovers', async () => {
    const t0 = Date.now();
    lab.startService(a());
    await eventually(passes(() => servedBy(t0, 'a')), { what: 'the client to be served by site a again', timeoutMs: 60_000 });
  });

  it('SIGTERM withdraws before exit (Cease after the withdrawal) and traffic moves to the standby', async () => {
    const t0 = Date.now();
    const code = await lab.terminateAnnouncer(a());
    assert.equal(code, 0, a().announcerLog.join('').slice(-2000));
    await eventually(passes(() => servedBy(t0, 'b')), { what: 'the client to be served by site b', timeoutMs: 60_000 });
    const p = await lab.bird.protocol('site_a');
    assert.match(p?.lastError ?? '', /Administrative shutdown/);
  });

  it('the maintenance file drains with the graceful-shutdown community, then withdraws', async () => {
    let t0 = Date.now();
    lab.startAnnouncer(a());
    await eventually(passes(() => servedBy(t0, 'a')), { what: 'site a back after its announcer restarts', timeoutMs: 60_000 });
    const file = join(dir, 'site-a.maintenance');
    await writeFile(file, 'planned work\n');
    t0 = Date.now();
    // The router honours RFC 8326, so traffic leaves during the drain, while
    // site a's route is still there as a fallback; then it is withdrawn.
    await eventually(passes(async () => {
      const r = (await lab.bird.routes(`${SERVICE_ADDRESS}/32`)).find((x) => x.protocol === 'site_a');
      assert.ok(r?.communities.includes('65535:0'), JSON.stringify(r));
      assert.equal(r!.localPref, 0);
      servedBy(t0, 'b', 3);
    }), { what: 'the client on site b while site a drains', timeoutMs: 60_000 });
    await eventually(passes(async () => assert.deepEqual((await lab.bird.routes(`${SERVICE_ADDRESS}/32`)).map((r) => r.protocol), ['site_b'])), { what: 'site a withdrawn after the drain' });
    // A planned drain has no black hole: no call times out or is refused, and
    // nothing fails once traffic has moved. The one thing anycast cannot keep
    // is a connection open at the instant the router switches paths: its next
    // packet reaches site b, which does not know it and resets it. Probes run
    // one at a time, so such a call is the one just before the first call
    // site b served; any other failure is a real loss.
    const since = lab.probes.filter((p) => p.t >= t0);
    const firstB = since.findIndex((p) => p.ok && p.site === 'b');
    const lost = since.filter((p, i) => !p.ok && !(i === firstB - 1 && p.error === 'ECONNRESET'));
    assert.ok(lost.length === 0, `no call lost during a planned drain; failed: ${JSON.stringify(lost.slice(0, 5))}, around the switch: ${JSON.stringify(since.slice(Math.max(0, firstB - 3), firstB + 2))}`);
    const resetAtSwitch = since.filter((p) => !p.ok).length;
    process.stderr.write(`# drain: ${since.length} calls, ${resetAtSwitch} reset at the path switch\n`);
    await unlink(file);
  });
});
