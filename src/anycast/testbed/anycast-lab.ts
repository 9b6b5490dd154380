// The whole anycast story in network namespaces, for the end-to-end test and
// the benchmark: a router namespace running BIRD (routes into its kernel
// table), two site namespaces announcing and serving the same address, and a
// client namespace calling it. Documentation ranges only; no route out.
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { BirdRouter, birdConfig } from './bird-router.js';
import { NetnsLab, run, stopChild } from './netns.js';

export const SERVICE_ADDRESS = '203.0.113.10';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export interface LabSite {
  readonly name: string;
  readonly ns: string;
  /** The site's address on its link to the router (its BGP source and next hop). */
  readonly address: string;
  readonly routerSide: string;
  readonly configPath: string;
  service: ChildProcess | undefined;
  announcer: ChildProcess | undefined;
  announcerLog: string[];
}

export interface ProbeResult {
  readonly t: number;
  readonly ok: boolean;
  readonly site?: string;
  readonly error?: string;
}

export class AnycastLab {
  readonly netns = new NetnsLab();
  readonly sites: LabSite[] = [];
  bird!: BirdRouter;
  routerNs = '';
  clientNs = '';
  readonly probes: ProbeResult[] = [];
  private probe: ChildProcess | undefined;

  constructor(private readonly dir: string) {}

  /** Builds the topology and starts BIRD, both sites' services and announcers. */
  async start(health = { interval: '200ms', fastInterval: '50ms', rise: 2, fall: 2 }): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const rt = (this.routerNs = await this.netns.namespace('rt'));
    await this.netns.exec(rt, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const links = [
      { name: 'a', router: '192.0.2.1', site: '192.0.2.2' },
      { name: 'b', router: '192.0.2.5', site: '192.0.2.6' },
    ];
    for (const l of links) {
      const ns = await this.netns.namespace(`s${l.name}`);
      await this.netns.link({ ns: rt, addr: `${l.router}/30` }, { ns, addr: `${l.site}/30` });
      await run('ip', ['-n', ns, 'addr', 'add', `${SERVICE_ADDRESS}/32`, 'dev', 'lo']);
      // Replies to the client go back through the router; nothing else is routed.
      await run('ip', ['-n', ns, 'route', 'add', '198.51.100.0/30', 'via', l.router]);
      this.sites.push({ name: l.name, ns, address: l.site, routerSide: l.router, configPath: join(this.dir, `site-${l.name}.yaml`), service: undefined, announcer: undefined, announcerLog: [] });
    }
    this.clientNs = await this.netns.namespace('cl');
    await this.netns.link({ ns: rt, addr: '198.51.100.1/30' }, { ns: this.clientNs, addr: '198.51.100.2/30' });
    await run('ip', ['-n', this.clientNs, 'route', 'add', '203.0.113.0/24', 'via', '198.51.100.1']);
    this.bird = await BirdRouter.start(this.netns, rt, this.dir, birdConfig({
      routerId: '192.0.2.1', kernel: true, debugRoutes: true,
      neighbors: this.sites.map((s) => ({ name: `site_${s.name}`, localAddress: s.routerSide, localAs: 65000, address: s.address, as: 65001 })),
    }));
    for (const [i, s] of this.sites.entries()) {
      await writeFile(s.configPath, stringify({
        localAs: 65001, routerId: s.address,
        peers: [{ name: 'router', address: s.routerSide, remoteAs: 65000, localAddress: s.address, holdTime: '3s', reconnect: { min: '200ms', max: '2s' } }],
        // Site a is preferred; b prepends twice and is the standby.
        announce: [{ prefix: `${SERVICE_ADDRESS}/32`, prepend: i === 0 ? 0 : 2, med: i === 0 ? 10 : 50, communities: [`65001:${100 + i}`] }],
        health: { ...health, checks: [{ type: 'http', url: `http://${SERVICE_ADDRESS}:80/healthz`, timeout: '150ms' }] },
        // The lab fails the same site over and over on purpose.
        flapGuard: { enabled: false },
        maintenance: { file: join(this.dir, `site-${s.name}.maintenance`), drain: '1s' },
        status: { listen: '127.0.0.1:9179' },
      }));
      this.startService(s);
      this.startAnnouncer(s);
    }
  }

  startService(s: LabSite): void {
    s.service = this.netns.spawn(s.ns, process.execPath, [here('./site-server.js'), `${SERVICE_ADDRESS}:80`, s.name]);
    s.service.stdout?.resume();
    s.service.stderr?.resume();
  }

  async killService(s: LabSite): Promise<void> {
    if (s.service) await stopChild(s.service, 0);
    s.service = undefined;
  }

  startAnnouncer(s: LabSite): void {
    s.announcerLog = [];
    const c = this.netns.spawn(s.ns, process.execPath, [here('../main.js'), 'anycast', '--config', s.configPath], { ...process.env, ENTENTE_LOG_LEVEL: 'info' });
    c.stdout?.resume();
    c.stderr?.on('data', (d: Buffer) => s.announcerLog.push(d.toString()));
    s.announcer = c;
  }

  /** SIGTERM the announcer and wait for it to exit (it withdraws first). Returns its exit code. */
  async terminateAnnouncer(s: LabSite): Promise<number | null> {
    const c = s.announcer;
    if (!c) return null;
    const code = new Promise<number | null>((r) => c.once('exit', (n) => r(n)));
    await stopChild(c, 5000);
    s.announcer = undefined;
    return code;
  }

  /** `entente anycast status --json` run inside the site's namespace. */
  async status(s: LabSite): Promise<{ announcement: { state: string }; sessions: { state: string }[] }> {
    return JSON.parse(await this.netns.exec(s.ns, process.execPath, [here('../main.js'), 'anycast', 'status', '--config', s.configPath, '--json'])) as never;
  }

  startProbe(intervalMs = 20): void {
    const c = this.netns.spawn(this.clientNs, process.execPath, [here('./probe-client.js'), `http://${SERVICE_ADDRESS}/`, String(intervalMs), '1000']);
    let buf = '';
    c.stdout?.setEncoding('utf8');
    c.stdout?.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l) this.probes.push(JSON.parse(l) as ProbeResult);
    });
    c.stderr?.resume();
    this.probe = c;
  }

  /** The router's kernel next hop for the service address ("192.0.2.2"), if any. */
  async kernelNextHop(): Promise<string | undefined> {
    const out = await run('ip', ['-n', this.routerNs, 'route', 'show', `${SERVICE_ADDRESS}/32`]);
    return /via (\S+)/.exec(out)?.[1];
  }

  async teardown(): Promise<void> {
    if (this.probe) await stopChild(this.probe, 500).catch(() => undefined);
    await this.netns.teardown();
  }
}
