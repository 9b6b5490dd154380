// An FRR bgpd run standalone (no zebra) as a child we control inside a
// namespace, for interop tests; queried with vtysh's JSON output through the
// daemon's vty socket in a temp dir.
import type { ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EntenteError } from '../../core/errors.js';
import { type NetnsLab, run, stopChild } from './netns.js';

export const BGPD = '/usr/lib/frr/bgpd';
export const VTYSH = '/usr/bin/vtysh';

/** The router config from docs/anycast.md: passive, timers 1 3, prefix filter, RFC 8326 via route-map. */
export function frrConfig(opts: { routerId: string; localAs: number; neighbor: string; neighborAs: number }): string {
  return [
    'frr defaults traditional',
    'hostname entente-test',
    `router bgp ${opts.localAs}`,
    ` bgp router-id ${opts.routerId}`,
    ` neighbor ${opts.neighbor} remote-as ${opts.neighborAs}`,
    ` neighbor ${opts.neighbor} passive`,
    ` neighbor ${opts.neighbor} timers 1 3`,
    ' address-family ipv4 unicast',
    `  neighbor ${opts.neighbor} route-map FROM-ANYCAST in`,
    `  neighbor ${opts.neighbor} maximum-prefix 10`,
    ' exit-address-family',
    '!',
    'ip prefix-list ANYCAST seq 5 permit 203.0.113.0/24 ge 32',
    'bgp community-list standard GSHUT permit graceful-shutdown',
    'route-map FROM-ANYCAST permit 10',
    ' match ip address prefix-list ANYCAST',
    ' match community GSHUT',
    ' set local-preference 0',
    'route-map FROM-ANYCAST permit 20',
    ' match ip address prefix-list ANYCAST',
    '',
  ].join('\n');
}

export class FrrRouter {
  private constructor(private readonly dir: string, private readonly child: ChildProcess, private readonly output: string[]) {}

  static async start(lab: NetnsLab, ns: string, dir: string, config: string, listen: string): Promise<FrrRouter> {
    const conf = join(dir, 'bgpd.conf');
    await writeFile(conf, config);
    // bgpd drops privileges to the frr user, which must reach its pid file and vty socket.
    await chmod(dir, 0o777);
    await chmod(conf, 0o644);
    const child = lab.spawn(ns, BGPD, ['-f', conf, '-i', join(dir, 'bgpd.pid'), '--vty_socket', dir, '-Z', '-u', 'frr', '-g', 'frr', '-P', '0', '-l', listen]);
    const output: string[] = [];
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const r = new FrrRouter(dir, child, output);
    const deadline = Date.now() + 10_000;
    while (true) {
      if (child.exitCode !== null) throw new EntenteError('FRR_EXITED', `bgpd exited at start: ${output.join('').slice(-500)}`);
      try {
        await r.vtysh('show bgp summary json');
        return r;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  }

  vtysh(command: string): Promise<string> {
    return run(VTYSH, ['--vty_socket', this.dir, '-d', 'bgpd', '-c', command], 5000);
  }

  async json<T>(command: string): Promise<T> {
    return JSON.parse(await this.vtysh(`${command} json`)) as T;
  }

  log(): string {
    return this.output.join('');
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
