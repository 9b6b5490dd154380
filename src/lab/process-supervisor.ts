// Starts the lab's components as child processes (each its own process, so a
// drill can kill a region), sends their logs to files, and stops every one of
// them on the way out — SIGTERM, then SIGKILL for stragglers.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `entente` command the lab (and tests) start children with: the bundled
 * CLI (dist/entente.mjs, built by `npm run build`) when it exists — it starts
 * in about half the time — else the compiled entry point. When this module
 * runs inside the bundle, it is in a chunk of dist/chunks/ (scripts/bundle.mjs)
 * or in the entry itself.
 */
function cliPath(): string {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('entente.mjs')) return self;
  if (self.endsWith('.mjs')) return fileURLToPath(new URL('../entente.mjs', import.meta.url));
  const bundle = fileURLToPath(new URL('../../entente.mjs', import.meta.url));
  return existsSync(bundle) ? bundle : fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

export const CLI_PATH = cliPath();

export interface Supervised {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** What it was started with, so that restart() runs it again the same way. */
  readonly args: readonly string[];
  readonly nodeFlags: readonly string[];
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Set when the supervisor itself asked it to stop: its exit is then expected. */
  stopRequested: boolean;
}

export class ProcessSupervisor {
  private readonly procs: Supervised[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly onUnexpectedExit: (p: Supervised) => void = () => undefined,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** Runs `node <nodeFlags> entente <args>` as a child process named `name`. */
  start(name: string, args: readonly string[], nodeFlags: readonly string[] = []): Supervised {
    const logPath = join(this.logDir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    // ENTENTE_LAB_CPU_PROFILE=DIR: every data plane process (agents, gateways) writes a V8 CPU profile there when it exits (docs/dataplane.md, "Profiling").
    const profileDir = process.env.ENTENTE_LAB_CPU_PROFILE;
    const prof = profileDir && /-(agent|gateway)$/.test(name) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    const child = spawn(process.execPath, [...prof, ...nodeFlags, CLI_PATH, ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ENTENTE_PARENT_PID: String(process.pid) },
    });
    closeSync(fd);
    const p: Supervised = { name, child, logPath, args, nodeFlags, exited: undefined, stopRequested: false };
    child.on('exit', (code, signal) => {
      p.exited = { code, signal };
      if (!this.stopping && !p.stopRequested) this.onUnexpectedExit(p);
    });
    this.procs.push(p);
    return p;
  }

  running(): Supervised[] {
    return this.procs.filter((p) => !p.exited);
  }

  /** Stops the named processes (or all), waiting up to `graceMs` before SIGKILL. */
  async stop(names?: readonly string[], graceMs = 3000): Promise<void> {
    if (!names) this.stopping = true;
    const targets = this.procs.filter((p) => !p.exited && (!names || names.includes(p.name)));
    await Promise.all(
      targets.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exited) return resolve();
            p.stopRequested = true;
            const kill = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
            p.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
  }

  /** The latest process started under `name`. */
  latest(name: string): Supervised | undefined {
    return this.procs.findLast((p) => p.name === name);
  }

  /** A drill's crash: SIGKILL the named processes (an expected exit, not reported) and wait until they are gone. */
  async kill(names: readonly string[]): Promise<void> {
    const targets = this.procs.filter((p) => !p.exited && names.includes(p.name));
    await Promise.all(
      targets.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.stopRequested = true;
            p.child.once('exit', () => resolve());
            p.child.kill('SIGKILL');
          }),
      ),
    );
  }

  /**
   * Starts `name` again with the arguments and node flags it was first started
   * with (an agent or a gateway then re-uses the enrollment saved in its data
   * dir: its config's join token is spent). Refused while it still runs.
   */
  restart(name: string): Supervised {
    const last = this.latest(name);
    if (!last) throw new Error(`no process named ${name} was started`);
    if (!last.exited) throw new Error(`${name} still runs (pid ${last.child.pid}); kill it first`);
    return this.start(name, last.args, last.nodeFlags);
  }

  /** Last resort from an exit handler: synchronous SIGKILL of everything still running. */
  killAllNow(): void {
    this.stopping = true;
    for (const p of this.procs) if (!p.exited) p.child.kill('SIGKILL');
  }
}
