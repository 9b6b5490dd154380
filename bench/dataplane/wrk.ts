// wrk as the closed-loop load generator: saturation over keep-alive
// connections, a new connection per request (`Connection: close`), and
// absolute-URI requests for the agent's HTTP proxy (a Lua script that sets
// wrk.path, which wrk sends verbatim as the request-target).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SocketAddress } from '../../src/core/address.js';

export interface WrkResult {
  readonly rps: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  readonly errors: number;
}

export interface WrkRun {
  readonly target: SocketAddress;
  readonly connections: number;
  readonly durationS: number;
  readonly threads: number;
  /** One request per connection. */
  readonly newConnections?: boolean;
  /** Path to a Lua script (absoluteUriScript()). */
  readonly script?: string;
}

function latencyMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec((text ?? '').trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/** wrk --latency's report, or a reason it is not one. */
export function parseWrkOutput(out: string): { kind: 'ok'; result: WrkResult } | { kind: 'error'; reason: string } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) return { kind: 'error', reason: `no "Requests/sec" in wrk's output:\n${out}` };
  const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? NaN);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    kind: 'ok',
    result: {
      rps,
      requests,
      p50Ms: latencyMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
      p90Ms: latencyMs(/^\s+90%\s+(\S+)/m.exec(out)?.[1]),
      p99Ms: latencyMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
      errors: (errs ? errs.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + non2xx,
    },
  };
}

/** Writes the script that makes wrk send `GET <url>` (absolute form) with that URL's Host. */
export async function absoluteUriScript(dir: string, url: string): Promise<string> {
  const u = new URL(url);
  const path = join(dir, `wrk-${u.hostname}.lua`);
  await writeFile(path, `-- absolute-URI requests, as an app talking to an HTTP proxy sends them\nwrk.path = ${JSON.stringify(url)}\nwrk.headers["Host"] = ${JSON.stringify(u.host)}\n`);
  return path;
}

export function runWrk(r: WrkRun): Promise<WrkResult> {
  const args = [`-t${r.threads}`, `-c${r.connections}`, `-d${r.durationS}s`, '--latency', '--timeout', '5s'];
  if (r.newConnections) args.push('-H', 'Connection: close');
  if (r.script) args.push('-s', r.script);
  args.push(`http://${r.target.host}:${r.target.port}/`);
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    // wrk ends itself after -d; this only catches a wrk that hangs.
    const kill = setTimeout(() => p.kill('SIGKILL'), (r.durationS + 30) * 1000);
    p.once('error', (err) => {
      clearTimeout(kill);
      reject(err);
    });
    p.once('exit', () => {
      clearTimeout(kill);
      const parsed = parseWrkOutput(out);
      if (parsed.kind === 'ok') resolve(parsed.result);
      else reject(new Error(`wrk ${args.join(' ')}: ${parsed.reason}`));
    });
  });
}
