// One bench process hosting a share of the mesh's controllers (real
// controllers, real mTLS peer API on their own loopback address). It learns
// when each of its controllers accepts a region state from the controllers'
// own log line ("region state accepted"), so no status polling skews the figures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { httpJson } from '../../src/core/http-get-json.js';
import { controllerConfigSchema } from '../../src/controller/controller-config.js';
import { readAdminCredential, startController, type RunningController } from '../../src/controller/controller.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { BLACKHOLE, PEERS_PORT, addressOf, blocked, regionName, type MeshSpec } from './topology.js';

export type ToWorker =
  | { type: 'start'; spec: MeshSpec; mine: number[] }
  | { type: 'progress' }
  | { type: 'change'; region: number; n: number }
  | { type: 'watch'; id: number; region: number; minVersion: number; timeoutMs: number }
  | { type: 'stats' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'started'; baselineRssKb: number }
  | { type: 'progress'; complete: number; total: number }
  | { type: 'changed'; t0: number }
  | { type: 'reached'; id: number; at: number | undefined; missing: number }
  | { type: 'stats'; rssKb: number; heapUsedKb: number; cpuUs: number }
  | { type: 'error'; message: string };

interface Hosted {
  readonly index: number;
  readonly running: RunningController;
  readonly resourcesDir: string;
  /** Highest version accepted per region index, and when. */
  readonly held: Map<number, { version: number; at: number }>;
}

const send = (m: FromWorker): void => void process.send?.(m);
const hosted: Hosted[] = [];
let spec: MeshSpec;
const watchers = new Set<() => void>();

function doc(kind: string, name: string, s: unknown): string {
  return stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: 'shop' }, spec: s });
}

function serviceYaml(region: string, name: string, address: string): string {
  return [
    doc('Service', name, { ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], export: true }),
    doc('Workload', `${name}-1`, { service: name, serviceAccount: name, node: `${region}-node-1`, address }),
  ].join('---\n');
}

/** A logger whose only reader is us: the accept lines update `held`. */
function acceptLogger(h: () => Hosted | undefined) {
  return pino(
    { level: 'info' },
    {
      write(line: string) {
        if (process.env.FEDBENCH_LOG && /"level":[45]0/.test(line)) process.stderr.write(line);
        if (!line.includes('"region state accepted"')) return;
        const o = JSON.parse(line) as { region: string; version: number };
        const me = h();
        if (!me) return;
        const r = Number(o.region.slice(1));
        const cur = me.held.get(r);
        if (!cur || o.version > cur.version) me.held.set(r, { version: o.version, at: Date.now() });
        for (const w of watchers) w();
      },
    },
  );
}

async function startOne(i: number): Promise<void> {
  const region = regionName(i);
  const dir = join(spec.root, region);
  const resourcesDir = join(dir, 'resources');
  mkdirSync(resourcesDir, { recursive: true });
  writeFileSync(join(resourcesDir, 'app.yaml'), serviceYaml(region, `${region}-app`, '10.9.9.9'));
  const ip = addressOf(i);
  const peers = [];
  for (let j = 0; j < spec.regions; j++) {
    if (j === i) continue;
    const to = blocked(spec.seed, spec.partitionShare, i, j) ? BLACKHOLE : { host: addressOf(j), port: PEERS_PORT };
    peers.push({ region: regionName(j), trustDomain: `${regionName(j)}.bench.test`, bundle: join(spec.root, regionName(j), 'data', 'bundle.json'), url: `https://${to.host}:${to.port}` });
  }
  const config = controllerConfigSchema.parse({
    region,
    trustDomain: `${region}.bench.test`,
    dataDir: join(dir, 'data'),
    resources: resourcesDir,
    listen: { agents: `${ip}:0`, peers: `${ip}:${PEERS_PORT}`, admin: `${ip}:0` },
    federation: {
      pullInterval: `${spec.pullIntervalMs}ms`,
      staleAfter: `${spec.staleAfterMs}ms`,
      expireAfter: `${Math.max(3_600_000, spec.staleAfterMs * 2)}ms`,
      ...(spec.resignIntervalMs !== undefined ? { resignInterval: `${spec.resignIntervalMs}ms` } : {}),
      ...(spec.fanout !== undefined ? { fanout: spec.fanout } : {}),
    },
    peers,
  });
  const box: { me?: Hosted } = {};
  const running = await startController(config, acceptLogger(() => box.me));
  box.me = { index: i, running, resourcesDir, held: new Map() };
  hosted.push(box.me);
}

function complete(h: Hosted): boolean {
  return h.held.size >= spec.regions - 1;
}

async function change(region: number, n: number): Promise<number> {
  const h = hosted.find((x) => x.index === region);
  if (!h) throw new Error(`region ${region} is not hosted here`);
  const t0 = Date.now();
  writeFileSync(join(h.resourcesDir, 'change.yaml'), serviceYaml(regionName(region), `change-${n}`, '10.9.9.10'));
  const admin = h.running.addresses.admin;
  const res = await httpJson(`http://${admin.host}:${admin.port}/v1/resources/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${readAdminCredential(h.running.config.dataDir)}` },
  });
  if (res.status !== 200) throw new Error(`reload refused: ${JSON.stringify(res.body)}`);
  return t0;
}

/** Resolves when every hosted controller (but the origin) holds `region` at `minVersion` or later: the last one's time. */
function watch(region: number, minVersion: number, timeoutMs: number): Promise<{ at: number | undefined; missing: number }> {
  return new Promise((resolve) => {
    const others = hosted.filter((h) => h.index !== region);
    const check = (): boolean => {
      let last = 0;
      for (const h of others) {
        const v = h.held.get(region);
        if (!v || v.version < minVersion) return false;
        last = Math.max(last, v.at);
      }
      done({ at: last || Date.now(), missing: 0 });
      return true;
    };
    const timer = setTimeout(() => done({ at: undefined, missing: others.filter((h) => (h.held.get(region)?.version ?? -1) < minVersion).length }), timeoutMs);
    const done = (r: { at: number | undefined; missing: number }): void => {
      clearTimeout(timer);
      watchers.delete(w);
      resolve(r);
    };
    const w = (): void => void check();
    watchers.add(w);
    check();
  });
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'start': {
      spec = m.spec;
      const baselineRssKb = Math.round(process.memoryUsage().rss / 1024);
      // A few at a time: each creates its CA and signer keys (CPU-bound start-up).
      const queue = [...m.mine];
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await startOne(i);
      }));
      send({ type: 'started', baselineRssKb });
      return;
    }
    case 'progress':
      return send({ type: 'progress', complete: hosted.filter(complete).length, total: hosted.length });
    case 'change':
      return send({ type: 'changed', t0: await change(m.region, m.n) });
    case 'watch': {
      const r = await watch(m.region, m.minVersion, m.timeoutMs);
      return send({ type: 'reached', id: m.id, ...r });
    }
    case 'stats': {
      const u = process.cpuUsage();
      const mem = process.memoryUsage();
      return send({ type: 'stats', rssKb: Math.round(mem.rss / 1024), heapUsedKb: Math.round(mem.heapUsed / 1024), cpuUs: u.user + u.system });
    }
    case 'stop':
      await Promise.all(hosted.map((h) => h.running.close()));
      process.exit(0);
  }
}

process.on('message', (m: ToWorker) => {
  handle(m).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
// The driver going away (killed, crashed) takes its workers with it.
process.on('disconnect', () => process.exit(0));
