// A BIRD 2 instance run as a child we control (foreground, its own config,
// control socket and pid file in a temp dir), usually inside a namespace;
// queried through birdc on the control socket, which works across namespaces.
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EntenteError } from '../../core/errors.js';
import { type BirdProtocol, type BirdRoute, parseBirdProtocol, parseBirdRouteEvents, parseBirdRoutes } from './bird-output.js';
import { type NetnsLab, run, stopChild } from './netns.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

export interface BirdNeighbor {
  readonly name: string;
  readonly localAddress: string;
  readonly localAs: number;
  readonly address: string;
  readonly as: number;
}

/**
 * The router side of the tests: passive BGP at hold 3 s / keepalive 1 s, every
 * route accepted, and RFC 8326 honoured (GRACEFUL_SHUTDOWN lowers LOCAL_PREF to 0).
 */
export function birdConfig(opts: { routerId: string; neighbors: readonly BirdNeighbor[]; kernel: boolean; ipv6?: boolean; debugRoutes?: boolean }): string {
  const lines = [
    `router id ${opts.routerId};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    'protocol direct { ipv4; }',
  ];
  if (opts.kernel) lines.push('protocol kernel { ipv4 { export where source = RTS_BGP; }; merge paths off; }');
  for (const n of opts.neighbors) {
    lines.push(`protocol bgp ${n.name} {`,
      `  local ${n.localAddress} as ${n.localAs};`,
      `  neighbor ${n.address} as ${n.as};`,
      '  passive on;',
      '  hold time 3;',
      '  keepalive time 1;',
      '  connect retry time 1;',
      ...(opts.debugRoutes ? ['  debug { routes };'] : []),
      '  error wait time 1, 5;',
      '  ipv4 { import filter { if (65535, 0) ~ bgp_community then bgp_local_pref = 0; accept; }; export none; };',
      ...(opts.ipv6 ? ['  ipv6 { import all; export none; };'] : []),
      '}');
  }
  return `${lines.join('\n')}\n`;
}

export class BirdRouter {
  private constructor(readonly socketPath: string, private readonly child: ChildProcess, private readonly stderr: string[]) {}

  static async start(lab: NetnsLab, ns: string, dir: string, config: string): Promise<BirdRouter> {
    const conf = join(dir, 'bird.conf');
    const sock = join(dir, 'bird.ctl');
    await writeFile(conf, config);
    await run(BIRD, ['-p', '-c', conf]).catch((err: unknown) => {
      throw new EntenteError('BIRD_CONFIG', `BIRD rejected the generated config: ${(err as Error).message}`, { hint: conf });
    });
    const child = lab.spawn(ns, BIRD, ['-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')]);
    const stderr: string[] = [];
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    child.stdout?.resume();
    const r = new BirdRouter(sock, child, stderr);
    const deadline = Date.now() + 10_000;
    while (true) {
      if (child.exitCode !== null) throw new EntenteError('BIRD_EXITED', `BIRD exited at start: ${stderr.join('').slice(-500)}`);
      try {
        await r.birdc(['show', 'status']);
        return r;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  }

  birdc(args: readonly string[]): Promise<string> {
    return run(BIRDC, ['-s', this.socketPath, ...args], 5000);
  }

  /** The routes BIRD holds for exactly this prefix ([] when it has none). */
  async routes(prefix: string): Promise<BirdRoute[]> {
    try {
      return parseBirdRoutes(await this.birdc(['show', 'route', prefix, 'all']));
    } catch (err) {
      // birdc exits 1 with "Network not found" when the table has no such net.
      if (/Network not found/.test(String((err as { cause?: { stdout?: string } }).cause?.stdout))) return [];
      throw err;
    }
  }

  async protocol(name: string): Promise<BirdProtocol | undefined> {
    return parseBirdProtocol(await this.birdc(['show', 'protocols', 'all', name]));
  }

  log(): string {
    return this.stderr.join('');
  }

  /**
   * When BIRD's table added or removed a protocol's route, by BIRD's own log
   * clock (needs `debugRoutes`): epoch ms of each "PROTO.ipv4 > removed ... PREFIX" line.
   */
  routeEvents(protocol: string, event: 'added' | 'removed', prefix: string): number[] {
    return parseBirdRouteEvents(this.log(), protocol, event, prefix);
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
