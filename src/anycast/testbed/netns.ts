// Network namespaces and veth links for the anycast tests and benchmark:
// unique names (random suffix), documentation addresses only, and a teardown
// that kills every child and deletes every namespace even after a failure.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { EntenteError } from '../../core/errors.js';

const execFileP = promisify(execFile);

export async function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const r = await execFileP(cmd, [...args], { timeout: timeoutMs, maxBuffer: 4 << 20 });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new EntenteError('COMMAND_FAILED', `${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

/** Fails loudly (never skips) when namespaces cannot be made: the tests need root and iproute2. */
export async function requireNetns(): Promise<void> {
  const probe = `entente-probe-${randomBytes(3).toString('hex')}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (err) {
    throw new EntenteError('NETNS_UNAVAILABLE', `cannot create a network namespace (${(err as Error).message})`, {
      hint: 'these tests need root and iproute2 (`ip netns`); run them as root, e.g. in CI via .ci/run',
    });
  }
  await run('ip', ['netns', 'del', probe]);
}

export class NetnsLab {
  readonly id = randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly rootLinks: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private links = 0;

  /** Creates namespace `ea<id>-<name>` with loopback up; returns its full name. */
  async namespace(name: string): Promise<string> {
    const ns = `ea${this.id}-${name}`;
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Joins two namespaces (undefined: the root namespace) with a veth pair and
   * gives each end an address ("192.0.2.1/30"). Returns the interface names.
   */
  async link(a: { ns: string | undefined; addr: string }, b: { ns: string | undefined; addr: string }): Promise<[string, string]> {
    const n = this.links++;
    const ifA = `v${this.id}a${n}`;
    const ifB = `v${this.id}b${n}`;
    await run('ip', ['link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB]);
    if (a.ns === undefined) this.rootLinks.push(ifA);
    if (b.ns === undefined) this.rootLinks.push(ifB);
    for (const [ifc, end] of [[ifA, a], [ifB, b]] as const) {
      if (end.ns !== undefined) await run('ip', ['link', 'set', ifc, 'netns', end.ns]);
      const pre = end.ns === undefined ? [] : ['-n', end.ns];
      await run('ip', [...pre, 'addr', 'add', end.addr, 'dev', ifc]);
      await run('ip', [...pre, 'link', 'set', ifc, 'up']);
    }
    return [ifA, ifB];
  }

  async exec(ns: string, cmd: string, args: readonly string[]): Promise<string> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Starts a long-running child inside a namespace; it is killed at teardown. */
  spawn(ns: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills children (TERM, then KILL), deletes namespaces and root-side links. Never throws. */
  async teardown(): Promise<void> {
    await Promise.all([...this.children].map((c) => stopChild(c)));
    for (const ifc of this.rootLinks) await run('ip', ['link', 'del', ifc]).catch(() => undefined);
    for (const ns of this.namespaces.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.namespaces.length = 0;
  }
}

export async function stopChild(c: ChildProcess, graceMs = 2000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
