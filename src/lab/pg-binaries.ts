// Finding Debian's PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin)
// and running them: as the `postgres` system user when we are root (PostgreSQL
// refuses to run as root), else as ourselves. Shared by the lab's store and the
// tests' throwaway servers.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EntenteError } from '../core/errors.js';

const run = promisify(execFile);

/** The Debian package that provides the binaries (scripts/setup-test-deps.sh installs it). */
export const PG_PACKAGE = 'postgresql';

/**
 * The newest installed server's bin directory, or undefined. Debian keeps one
 * directory per major version under /usr/lib/postgresql; ENTENTE_POSTGRES_ROOT
 * names another such root (another layout, or a test of the "not installed" path).
 */
export function postgresBinDir(root = process.env.ENTENTE_POSTGRES_ROOT || '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** The bin directory, or an error that names the missing package. */
export function requirePostgresBinDir(): string {
  const bin = postgresBinDir();
  if (!bin) {
    throw new EntenteError('PG_NOT_INSTALLED', 'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin', {
      hint: `install the Debian package "${PG_PACKAGE}" (apt-get install ${PG_PACKAGE}; scripts/setup-test-deps.sh does)`,
    });
  }
  return bin;
}

/** uid and gid of Debian's `postgres` system user (created by the postgresql package). */
export async function postgresIds(): Promise<[number, number]> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return [Number(uid.trim()), Number(gid.trim())];
}

export const runningAsRoot = (): boolean => process.getuid?.() === 0;

/** Runs one of the server's tools (initdb, pg_ctl, …) as the user the server runs as; its stdout, or an error with its stderr. */
export async function runPgTool(bin: string, tool: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const [cmd, argv] = runningAsRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]];
  try {
    return (await run(cmd, argv, { timeout: timeoutMs })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Whether pid runs (a zombie, dead but not yet reaped by its new parent, answers signal 0 but runs nothing). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The processes whose parent is pid (a postmaster's backends and auxiliary processes). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces and parentheses): state, then ppid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
