// `npm run bench -- failover [--rounds N] [--rate R] [--fault-s S]`: a region's
// replica of a service dies under steady load; how long until requests are
// served normally again, and how many failed. Entente (a real 3-region lab:
// frontend in eu calls payments, whose nearest replica is in us and the next
// in ap) side by side with a client that balances like Envoy with its
// default outlier detection (bench/failover/envoy-like-client.ts) over the
// same emulated WAN to stand-in replicas. Two faults: `blackhole` (the
// region's host gone silent: every link into us drops everything) and
// `reset` (its processes gone, the host up: connections are reset).
// Interleaved (Entente, Envoy-like, Entente, ...); the figures are medians
// of per-round values and of per-round ratios. Writes bench/results/failover.json.
import { createServer, Agent, request, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { DEFAULT_RTT_MS, PORTS } from '../src/lab/lab-topology.js';
import { startWanLink, type PartitionMode, type WanLink } from '../src/lab/wan-link.js';
import { eventually } from '../src/core/eventually.js';
import { httpJson } from '../src/core/http-get-json.js';
import { EnvoyLikeClient } from './failover/envoy-like-client.js';
import { failbackResult, failoverResult, regionOf, type FailbackResult, type FailoverResult, type RequestRecord } from './failover/recovery.js';

const LAB_PREFIX = '127.68';
const STANDIN_NET = '127.69.1';
const WARM_MS = 6000;
/** Load goes on this long after the heal: failback (slow start takes 10 s) is measured in it. */
const AFTER_HEAL_MS = 20_000;
const FIRST_WARM_MS = 15_000;

interface Options {
  rounds: number;
  rate: number;
  faultMs: number;
}

function parse(args: string[]): Options {
  const o: Options = { rounds: 3, rate: 40, faultMs: 20_000 };
  for (let i = 0; i < args.length; i++) {
    const [k, v] = [args[i], args[i + 1]];
    const n = Number(v);
    if (k === '--rounds' && Number.isInteger(n) && n >= 1 && n <= 20) o.rounds = n;
    else if (k === '--rate' && n >= 1 && n <= 500) o.rate = n;
    else if (k === '--fault-s' && n >= 5 && n <= 120) o.faultMs = n * 1000;
    else throw new Error(`bench failover: bad option ${k} ${v ?? ''} (expected --rounds 1-20, --rate 1-500, --fault-s 5-120)`);
    i++;
  }
  return o;
}

/** Open loop: one request every 1000/rate ms for `ms`, whatever the answers; bounded in count. */
async function load(send: () => Promise<Answer>, rate: number, ms: number, records: RequestRecord[], t0: number): Promise<void> {
  const every = 1000 / rate;
  const count = Math.ceil(ms / every);
  const pending: Promise<void>[] = [];
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const due = begin + i * every;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    pending.push(send().then((a) => void records.push({ start: start - t0, latencyMs: performance.now() - start, ok: a.ok, servedBy: a.servedBy })));
  }
  await Promise.all(pending);
}

/** One request's answer: ok (2xx), and the region of the replica that served it. */
export interface Answer {
  readonly ok: boolean;
  readonly servedBy?: string | undefined;
}

interface Side {
  readonly name: 'entente' | 'envoy-like';
  send(): Promise<Answer>;
  fault(mode: PartitionMode): void;
  /** Resolves once the side is ready for the next cycle. */
  settle(): Promise<void>;
}

/** Steady load; the fault after WARM_MS, healed faultMs later; load goes on AFTER_HEAL_MS more (failback). */
async function cycle(side: Side, fault: 'blackhole' | 'reset', o: Options): Promise<{ over: FailoverResult; back: FailbackResult }> {
  const records: RequestRecord[] = [];
  const t0 = performance.now();
  const loading = load(() => side.send(), o.rate, WARM_MS + o.faultMs + AFTER_HEAL_MS, records, t0);
  await new Promise((r) => setTimeout(r, WARM_MS));
  const faultAt = performance.now() - t0;
  side.fault(fault);
  await new Promise((r) => setTimeout(r, o.faultMs));
  const healAt = performance.now() - t0;
  side.fault(false);
  await loading;
  await side.settle();
  return { over: failoverResult(records, faultAt, healAt), back: failbackResult(records, healAt, healAt + AFTER_HEAL_MS, 'us') };
}

async function standIn(host: string, region: string): Promise<Server> {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ service: 'payments', region })));
  });
  await new Promise<void>((r) => s.listen(8080, host, r));
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  const lab = new Lab({ regions: ['eu', 'us', 'ap'], ipPrefix: LAB_PREFIX, rttMs: DEFAULT_RTT_MS, jitterMs: 2, rate: 1, traffic: false, readyTimeoutMs: 120_000 });
  const servers: Server[] = [];
  const links: WanLink[] = [];
  let envoy: EnvoyLikeClient | undefined;
  try {
    const replicas = lab.topology.workloads.filter((w) => w.service === 'payments').map((w) => w.region);
    if (!replicas.includes('us') || !replicas.includes('ap')) throw new Error(`bench failover needs payments replicas in us and ap; the lab places them in ${replicas.join(', ')}`);
    await lab.start();
    const frontend = lab.topology.workloads.find((w) => w.service === 'frontend')!;
    const agentIp = lab.topology.regions[0]!.agents.find((a) => a.node === frontend.node)!.ip;
    const keep = new Agent({ keepAlive: true, maxSockets: 256 });
    const entente: Side = {
      name: 'entente',
      send: () =>
        new Promise((resolve) => {
          const req = request({ host: agentIp, port: PORTS.agentProxy, method: 'POST', path: 'http://payments.shop.mesh/charge', headers: { host: 'payments.shop.mesh', 'content-length': 0 }, localAddress: frontend.address, agent: keep, timeout: 15_000 }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, servedBy: regionOf(body) }));
            res.on('error', () => resolve({ ok: false }));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', () => resolve({ ok: false }));
          req.end();
        }),
      fault: (mode) => {
        for (const [key, link] of lab.links) if (key.includes('->us:')) link.setPartitioned(mode);
      },
      settle: async () => {
        // Failback was measured under load; the next cycle starts from us again.
        await eventually(async () => (await httpJson<{ peers: { region: string; link?: { reachable: boolean }; stale: boolean }[] }>(`${lab.adminUrl('eu')}/v1/status`)).body.peers.some((p) => p.region === 'us' && p.link?.reachable && !p.stale), { timeoutMs: 60_000, what: 'eu to see us again' });
      },
    };
    // Stand-ins for the two replicas, behind links with the lab's one-way delays from eu.
    servers.push(await standIn(`${STANDIN_NET}.11`, 'us'), await standIn(`${STANDIN_NET}.12`, 'ap'));
    const usLink = await startWanLink({ listen: { host: `${STANDIN_NET}.201`, port: 8080 }, target: { host: `${STANDIN_NET}.11`, port: 8080 }, latencyMs: DEFAULT_RTT_MS['eu-us']! / 2, jitterMs: 2 });
    const apLink = await startWanLink({ listen: { host: `${STANDIN_NET}.202`, port: 8080 }, target: { host: `${STANDIN_NET}.12`, port: 8080 }, latencyMs: DEFAULT_RTT_MS['eu-ap']! / 2, jitterMs: 2 });
    links.push(usLink, apLink);
    const makeEnvoy = (): EnvoyLikeClient => new EnvoyLikeClient([{ host: `${STANDIN_NET}.201`, port: 8080 }, { host: `${STANDIN_NET}.202`, port: 8080 }]);
    envoy = makeEnvoy();
    const envoySide: Side = {
      name: 'envoy-like',
      send: () => envoy!.send(),
      fault: (mode) => usLink.setPartitioned(mode),
      // A fresh client per cycle: its ejection would otherwise outlast the heal (30 s) into the next round.
      settle: async () => {
        envoy!.close();
        envoy = makeEnvoy();
        await new Promise((r) => setTimeout(r, 1000));
      },
    };

    // Not measured: the lab's first seconds of traffic open sessions and learn RTTs (the order can still move).
    await load(() => entente.send(), o.rate, FIRST_WARM_MS, [], performance.now());
    const results: { round: number; fault: string; side: string; r: FailoverResult; b: FailbackResult }[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const fault of ['blackhole', 'reset'] as const) {
        for (const side of [entente, envoySide]) {
          const { over: r, back: b } = await cycle(side, fault, o);
          results.push({ round, fault, side: side.name, r, b });
          const fb = b.failbackMs === undefined ? `not within ${AFTER_HEAL_MS / 1000} s` : `${Math.round(b.failbackMs)} ms`;
          console.log(`round ${round} ${fault.padEnd(9)} ${side.name.padEnd(10)} recover ${String(Math.round(r.recoverMs)).padStart(6)} ms  failed ${String(r.failed).padStart(4)}/${r.requests}  slow ${r.slow} (> ${Math.round(r.slowBoundMs)} ms)  before p50/p99 ${Math.round(r.p50BeforeMs)}/${Math.round(r.p99BeforeMs)} ms  failback ${fb} (failed after heal ${b.failedAfterHeal}/${b.requestsAfterHeal})`);
        }
      }
    }
    const summary: Record<string, unknown> = {
      rate: o.rate,
      faultMs: o.faultMs,
      afterHealMs: AFTER_HEAL_MS,
      rounds: o.rounds,
      definition:
        'recoverMs: fault to the first 1 s window from which on >= 99% of requests are ok and under max(500 ms, 3 x pre-fault p99), requests in flight at the fault counted; failbackMs: heal to the first 1 s window from which on >= 90% of ok requests are served by us (null: not within afterHealMs); ratios: Envoy-like / Entente per round (recover floored at 100 ms)',
    };
    // Failback that did not happen within the window counts as the window (a lower bound) in the median.
    const failback = (xs: FailbackResult[]): { failbackMs: number | null; notWithinWindow: number; failedAfterHeal: number } => ({
      failbackMs: xs.every((x) => x.failbackMs === undefined) ? null : median(xs.map((x) => x.failbackMs ?? AFTER_HEAL_MS)),
      notWithinWindow: xs.filter((x) => x.failbackMs === undefined).length,
      failedAfterHeal: median(xs.map((x) => x.failedAfterHeal)),
    });
    for (const fault of ['blackhole', 'reset']) {
      const of = (side: string) => results.filter((x) => x.fault === fault && x.side === side).map((x) => x.r);
      const backOf = (side: string) => results.filter((x) => x.fault === fault && x.side === side).map((x) => x.b);
      const e = of('entente');
      const v = of('envoy-like');
      summary[fault] = {
        entente: { recoverMs: median(e.map((x) => x.recoverMs)), failed: median(e.map((x) => x.failed)), slow: median(e.map((x) => x.slow)), p99BeforeMs: median(e.map((x) => x.p99BeforeMs)), perRound: e.map((x) => Math.round(x.recoverMs)), ...failback(backOf('entente')) },
        envoyLike: { recoverMs: median(v.map((x) => x.recoverMs)), failed: median(v.map((x) => x.failed)), slow: median(v.map((x) => x.slow)), p99BeforeMs: median(v.map((x) => x.p99BeforeMs)), perRound: v.map((x) => Math.round(x.recoverMs)), ...failback(backOf('envoy-like')) },
        recoverRatio: median(e.map((x, i) => Math.max(100, v[i]!.recoverMs) / Math.max(100, x.recoverMs))),
      };
    }
    console.log(JSON.stringify(summary, null, 2));
    const dir = join(process.cwd(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'failover.json'), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    envoy?.close();
    await lab.stop();
    for (const l of links) await l.close();
    for (const s of servers) await new Promise((r) => s.close(r));
  }
}
