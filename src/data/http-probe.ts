// The probe of an HTTP data service's member (docs/data-routing.md "HTTP data
// services"): GET its lag endpoint, which answers
//   {"role": "primary" | "replica", "position": N, "lagSeconds": N}
// The answer crosses a trust boundary (any server can be a member), so it is
// read with a size and a time limit and checked strictly: a value that does not
// parse makes the probe fail (HTTP_BAD_REPLY) instead of passing on a made-up
// position. Like the PostgreSQL probe, it never throws: every failure is a value.
import { request } from 'node:http';
import { describeError } from '../core/errors.js';

export interface HttpProbeTarget {
  readonly host: string;
  readonly port: number;
  /** The lag endpoint, e.g. "/lag". */
  readonly path: string;
}

export type HttpProbeErrorCode = 'HTTP_TIMEOUT' | 'HTTP_CONNECT' | 'HTTP_STATUS' | 'HTTP_BAD_REPLY';

export type HttpProbeResult =
  | { readonly role: 'primary'; readonly position: bigint }
  | { readonly role: 'replica'; readonly position: bigint; readonly lagSeconds?: number }
  | { readonly role: 'unreachable'; readonly error: { readonly code: HttpProbeErrorCode; readonly message: string } };

/** A lag endpoint's answer is a few dozen bytes; anything far larger is not one. */
const MAX_BODY_BYTES = 16 * 1024;
const MAX_POSITION = (1n << 64n) - 1n;
/** A week: a lag beyond it is a broken clock or a broken endpoint, not a replica worth a number. */
const MAX_LAG_SECONDS = 7 * 24 * 3600;

/** Position: a non-negative integer, as a JSON number (exact up to 2^53) or a string of decimal digits (up to 2^64-1). */
function parsePosition(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) {
    const p = BigInt(v);
    return p <= MAX_POSITION ? p : undefined;
  }
  return undefined;
}

/** The endpoint's JSON, checked; a reason in words when it is not a lag answer. */
export function parseLagAnswer(body: string): Exclude<HttpProbeResult, { role: 'unreachable' }> | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { error: 'the answer is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'the answer is not a JSON object' };
  const o = v as Record<string, unknown>;
  const position = parsePosition(o.position);
  if (position === undefined) return { error: `position ${JSON.stringify(o.position)?.slice(0, 40)} is not a non-negative integer (a number up to 2^53, or a decimal string up to 2^64-1)` };
  if (o.role === 'primary') return { role: 'primary', position };
  if (o.role !== 'replica') return { error: `role ${JSON.stringify(o.role)?.slice(0, 40)} is not "primary" or "replica"` };
  if (o.lagSeconds === undefined || o.lagSeconds === null) return { role: 'replica', position };
  if (typeof o.lagSeconds !== 'number' || !Number.isFinite(o.lagSeconds) || o.lagSeconds < 0 || o.lagSeconds > MAX_LAG_SECONDS) {
    return { error: `lagSeconds ${JSON.stringify(o.lagSeconds)?.slice(0, 40)} is not a number of seconds from 0 to ${MAX_LAG_SECONDS}` };
  }
  return { role: 'replica', position, lagSeconds: o.lagSeconds };
}

export function probeHttpMember(target: HttpProbeTarget, opts: { timeoutMs: number }): Promise<HttpProbeResult> {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: HttpProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const failed = (code: HttpProbeErrorCode, message: string): void => finish({ role: 'unreachable', error: { code, message: `${where}: ${message}` } });
    // A fresh connection per probe (agent: false): a probe is meant to prove the member takes connections now.
    const req = request({ host: target.host, port: target.port, path: target.path, method: 'GET', agent: false, headers: { accept: 'application/json', 'user-agent': 'entente-probe' } });
    const timer = setTimeout(() => failed('HTTP_TIMEOUT', `no answer within ${opts.timeoutMs} ms`), opts.timeoutMs);
    req.on('error', (err) => failed('HTTP_CONNECT', describeError(err)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        failed('HTTP_STATUS', `answered ${res.statusCode} (the lag endpoint answers 200 with {"role", "position", "lagSeconds"})`);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) failed('HTTP_BAD_REPLY', `the answer is over ${MAX_BODY_BYTES} bytes`);
        else chunks.push(c);
      });
      res.on('error', (err) => failed('HTTP_CONNECT', describeError(err)));
      res.on('end', () => {
        const parsed = parseLagAnswer(Buffer.concat(chunks).toString('utf8'));
        if ('error' in parsed) failed('HTTP_BAD_REPLY', parsed.error);
        else finish(parsed);
      });
    });
    req.end();
  });
}
