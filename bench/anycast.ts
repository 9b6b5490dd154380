// `npm run bench -- anycast [--runs N]`: in network namespaces (BIRD router,
// two sites, a client), kill the preferred site's service and time (1) until
// its route is gone from BIRD's table and (2) until the client calling the
// anycast address is served by the other site. Medians over N runs go to
// bench/results/anycast.json as { withdrawMs, failoverMs, ... }. Health timers:
// the lab's (200ms/50ms, rise 2, fall 2), or the config defaults with --default-timers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/core/atomic-file.js';
import { AnycastLab, SERVICE_ADDRESS } from '../src/anycast/testbed/anycast-lab.js';
import { requireNetns } from '../src/anycast/testbed/netns.js';

const RESULT = fileURLToPath(new URL('../../bench/results/anycast.json', import.meta.url));
const LAB_TIMERS = { interval: '200ms', fastInterval: '50ms', rise: 2, fall: 2 };
/** The config defaults (config.ts), for `--default-timers`. */
const DEFAULT_TIMERS = { interval: '500ms', fastInterval: '100ms', rise: 3, fall: 2 };

async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000, everyMs = 5): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return Date.now();
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`bench anycast: timed out waiting for ${what}`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

export async function run(args: string[]): Promise<void> {
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('bench anycast: --runs expects a positive integer');
  const HEALTH = args.includes('--default-timers') ? DEFAULT_TIMERS : LAB_TIMERS;
  await requireNetns();
  const dir = await mkdtemp(join(tmpdir(), 'entente-bench-anycast-'));
  const lab = new AnycastLab(dir);
  const withdraw: number[] = [];
  const failover: number[] = [];
  try {
    await lab.start(HEALTH);
    lab.startProbe(10);
    const [a, b] = [lab.sites[0]!, lab.sites[1]!];
    const servedBy = (since: number, site: string, n: number) => {
      const recent = lab.probes.filter((p) => p.t >= since).slice(-n);
      return recent.length === n && recent.every((p) => p.ok && p.site === site);
    };
    const routesFrom = async () => (await lab.bird.routes(`${SERVICE_ADDRESS}/32`)).map((r) => r.protocol);
    for (let i = 0; i < runs; i++) {
      // Steady state: both sites announced, the client on the preferred one.
      const settle = Date.now();
      await waitFor(async () => servedBy(settle, 'a', 10) && (await routesFrom()).length === 2, 'steady state on site a', 30_000, 20);
      // A random pause, so the failure lands at a random phase of the health rounds.
      await new Promise((r) => setTimeout(r, Math.random() * 500));
      const t0 = Date.now();
      await lab.killService(a);
      const polled = await waitFor(async () => !(await routesFrom()).includes('site_a'), 'site a\'s route to leave BIRD');
      // BIRD's own log time of the removal is exact; a birdc poll lags by one call.
      const logged = lab.bird.routeEvents('site_a', 'removed', `${SERVICE_ADDRESS}/32`).find((t) => t >= t0);
      const gone = logged ?? polled;
      await waitFor(() => lab.probes.some((p) => p.t >= t0 && p.ok && p.site === 'b'), 'the client on site b');
      const firstB = lab.probes.find((p) => p.t >= t0 && p.ok && p.site === 'b')!;
      withdraw.push(gone - t0);
      failover.push(firstB.t - t0);
      console.log(`run ${i + 1}/${runs}: withdraw ${gone - t0} ms, client on site ${b.name} after ${firstB.t - t0} ms`);
      lab.startService(a);
    }
  } finally {
    await lab.teardown();
    await rm(dir, { recursive: true, force: true });
  }
  const result = {
    withdrawMs: median(withdraw),
    failoverMs: median(failover),
    runs,
    samples: { withdrawMs: withdraw, failoverMs: failover },
    setup: {
      health: HEALTH, check: 'HTTP to the local service (timeout 150ms)', bgpHoldTime: 3, router: 'BIRD 2 in a netns, kernel export on',
      failure: 'SIGKILL of the preferred site\'s service', withdrawnWhen: 'BIRD logs site a\'s route removed from its table (debug routes)', clientProbeEveryMs: 10,
    },
  };
  await writeFileAtomic(RESULT, `${JSON.stringify(result, null, 2)}\n`, 0o644);
  console.log(`anycast: withdrawMs ${result.withdrawMs} (median of ${runs}), failoverMs ${result.failoverMs}; written to bench/results/anycast.json`);
}
