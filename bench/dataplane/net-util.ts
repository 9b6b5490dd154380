// Small helpers the benchmark's process starters share: is a tool installed,
// wait until something answers HTTP, stop a child process for sure.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { eventually } from '../../src/core/eventually.js';
import type { SocketAddress } from '../../src/core/address.js';

export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One GET; true for a 200. */
export function httpOk(at: SocketAddress, path = '/', headers: Record<string, string> = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const r = request({ host: at.host, port: at.port, path, headers, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve(false));
    r.end();
  });
}

/**
 * Waits for a 200; fails at once when `gone()` names a reason (the process
 * that should answer exited), instead of waiting out the bound.
 */
export async function waitHttpOk(at: SocketAddress, what: string, opts: { path?: string; headers?: Record<string, string>; gone?: () => string | undefined } = {}): Promise<void> {
  const path = opts.path ?? '/';
  const r = await eventually(async () => opts.gone?.() ?? ((await httpOk(at, path, opts.headers)) ? 'ok' : false), {
    what: `${what} to answer 200 on ${at.host}:${at.port}${path === '/' ? '' : ` for ${path}`}`,
    timeoutMs: 30_000,
  });
  if (r !== 'ok') throw new Error(`${what}: ${r}`);
}

/** A reason when any of these children has exited. */
export function exitedChild(procs: readonly ChildProcess[], name: string): string | undefined {
  const p = procs.find((c) => c.exitCode !== null || c.signalCode !== null);
  return p ? `${name} (pid ${p.pid}) exited (${p.signalCode ?? `code ${p.exitCode}`}) before answering` : undefined;
}

/** SIGTERM (or `signal`), then SIGKILL after graceMs; resolves once it exited. */
export function stopChild(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const kill = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    p.kill(signal);
  });
}
