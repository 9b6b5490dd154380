// anycast.yaml: one zod schema checked whole at start-up. Every problem is
// reported in one pass as "key: bad value, expected ..."; durations, prefixes,
// addresses and communities are parsed here into typed values.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { EntenteError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { parseSocketAddress, type SocketAddress } from '../core/address.js';
import { type Prefix, parsePrefix } from './bgp/prefix.js';
import { parseCommunity, type Announcement } from './bgp/route.js';
import type { OriginValue } from './bgp/constants.js';

const duration = (what = 'a duration such as "1s" or "200ms"') => z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch {
    ctx.issues.push({ code: 'custom', message: `expected ${what}`, input: s });
    return z.NEVER;
  }
});
const ip = z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IP address such as "192.0.2.1"' });
const ipv4 = z.string().refine((s) => isIP(s) === 4, { message: 'expected an IPv4 address such as "192.0.2.1"' });
const asn = z.number().int().min(1).max(4294967295, { message: 'expected an AS number 1..4294967295' });
const prefix = z.string().transform((s, ctx): Prefix => {
  try {
    return parsePrefix(s);
  } catch (err) {
    ctx.issues.push({ code: 'custom', message: `expected an IP prefix such as "203.0.113.10/32" (${(err as EntenteError).message.replace(/^prefix: /, '')})`, input: s });
    return z.NEVER;
  }
});
const community = z.string().transform((s, ctx) => {
  const c = parseCommunity(s);
  if (c === undefined) {
    ctx.issues.push({ code: 'custom', message: 'expected a community "ASN:VALUE" (each 0..65535) or graceful-shutdown, no-export, no-advertise, blackhole', input: s });
    return z.NEVER;
  }
  return c;
});
const socketAddress = z.string().transform((s, ctx): SocketAddress => {
  try {
    return parseSocketAddress(s);
  } catch {
    ctx.issues.push({ code: 'custom', message: 'expected host:port such as "127.0.0.1:9179"', input: s });
    return z.NEVER;
  }
});
// RFC 4271: a hold time is 0 (no keepalives) or at least 3 s; 1-2 s are refused.
const holdTime = z.string().transform((s, ctx) => {
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch {
    ms = NaN;
  }
  const sec = ms / 1000;
  if (!Number.isInteger(sec) || (sec !== 0 && (sec < 3 || sec > 65535))) {
    ctx.issues.push({ code: 'custom', message: 'expected a whole number of seconds, 0 or 3s..65535s (RFC 4271 refuses 1-2 s)', input: s });
    return z.NEVER;
  }
  return sec;
});
const url = z.string().refine((s) => /^https?:\/\/[^/]+/.test(s), { message: 'expected an http:// or https:// URL' });

const peerSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'expected letters, digits, "_", "." or "-"' }).optional(),
  address: ip,
  port: z.number().int().min(1).max(65535).default(179),
  remoteAs: asn,
  localAddress: ip.optional(),
  holdTime: holdTime.default(9),
  connectTimeout: duration().default(5000),
  reconnect: z.object({ min: duration().default(1000), max: duration().default(30_000) }).strict().default({ min: 1000, max: 30_000 }),
}).strict();

const announceSchema = z.object({
  prefix,
  nextHop: ip.optional(),
  origin: z.enum(['igp', 'egp', 'incomplete']).default('igp'),
  prepend: z.number().int().min(0).max(16, { message: 'expected 0..16 extra copies of the local AS' }).default(0),
  med: z.number().int().min(0).max(4294967295).optional(),
  communities: z.array(community).default([]),
}).strict();

const checkSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('http'), name: z.string().optional(), url, expectStatus: z.number().int().min(100).max(599).optional(), timeout: duration().default(500) }).strict(),
  z.object({ type: z.literal('tcp'), name: z.string().optional(), address: socketAddress, timeout: duration().default(500) }).strict(),
  z.object({
    type: z.literal('controller'), name: z.string().optional(), url,
    minHealthyGateways: z.number().int().min(0).optional(), minHealthyServices: z.number().int().min(0).optional(), timeout: duration().default(500),
  }).strict(),
]);

export const anycastConfigSchema = z.object({
  localAs: asn,
  routerId: ipv4,
  peers: z.array(peerSchema).min(1, { message: 'expected at least one peer' }),
  announce: z.array(announceSchema).min(1, { message: 'expected at least one prefix to announce' }),
  health: z.object({
    // Defaults aim at withdrawal within a second: worst case interval + (fall-1) x fastInterval = 600 ms.
    interval: duration().default(500),
    fastInterval: duration().default(100),
    rise: z.number().int().min(1).max(100).default(3),
    fall: z.number().int().min(1).max(100).default(2),
    checks: z.array(checkSchema).default([]),
  }).strict().default({ interval: 500, fastInterval: 100, rise: 3, fall: 2, checks: [] }),
  maintenance: z.object({ file: z.string().min(1), drain: duration().default(5000) }).strict().optional(),
  flapGuard: z.object({
    enabled: z.boolean().default(true),
    halfLife: duration().default(900_000),
    withdrawPenalty: z.number().positive().default(1000),
    attributeChangePenalty: z.number().min(0).default(500),
    // Cisco's default suppress limit is 2000: stay strictly under it.
    limit: z.number().positive().default(1999),
  }).strict().default({ enabled: true, halfLife: 900_000, withdrawPenalty: 1000, attributeChangePenalty: 500, limit: 1999 }),
  status: z.object({ listen: socketAddress.default({ host: '127.0.0.1', port: 9179 }) }).strict().default({ listen: { host: '127.0.0.1', port: 9179 } }),
}).strict().superRefine((c, ctx) => {
  c.announce.forEach((a, i) => {
    if (a.prefix.family === 6 && !a.nextHop && c.peers.some((p) => isIP(p.address) === 4)) {
      ctx.addIssue({ code: 'custom', path: ['announce', i, 'nextHop'], message: 'expected an IPv6 next hop: an IPv6 prefix announced over an IPv4 session needs one' });
    }
  });
  c.peers.forEach((p, i) => {
    if (p.reconnect.min > p.reconnect.max) ctx.addIssue({ code: 'custom', path: ['peers', i, 'reconnect'], message: 'expected min <= max' });
  });
  if (c.health.fastInterval > c.health.interval) ctx.addIssue({ code: 'custom', path: ['health', 'fastInterval'], message: 'expected fastInterval <= interval' });
  if (c.flapGuard.withdrawPenalty >= c.flapGuard.limit) ctx.addIssue({ code: 'custom', path: ['flapGuard', 'limit'], message: 'expected limit > withdrawPenalty' });
});

type Raw = z.output<typeof anycastConfigSchema>;
export type HealthCheckConfig = Raw['health']['checks'][number];

/** An announcement as configured is exactly what the speaker announces. */
export type AnnounceConfig = Announcement;

export type AnycastConfig = Omit<Raw, 'announce'> & { readonly announce: readonly AnnounceConfig[] };

const ORIGINS: Record<string, OriginValue> = { igp: 0, egp: 1, incomplete: 2 };

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';
}

/** Validates a parsed YAML/JSON document; throws one EntenteError listing every problem. */
export function parseAnycastConfig(doc: unknown, source = 'anycast config'): AnycastConfig {
  const r = anycastConfigSchema.safeParse(doc, { reportInput: true });
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const got = 'input' in i && i.input !== undefined && i.code !== 'unrecognized_keys' ? ` (got ${JSON.stringify(i.input)})` : '';
      const msg = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message.replace(/^Invalid input: /, '');
      return `  ${pathText(i.path)}: ${msg}${got}`;
    });
    throw new EntenteError('ANYCAST_CONFIG_INVALID', `${source} has ${lines.length} problem(s):\n${lines.join('\n')}`, {
      hint: 'see docs/anycast.md for every key and its format',
    });
  }
  return { ...r.data, announce: r.data.announce.map((a) => ({ ...a, origin: ORIGINS[a.origin]! })) };
}

export async function loadAnycastConfig(path: string): Promise<AnycastConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EntenteError('ANYCAST_CONFIG_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { hint: 'pass --config with the path of anycast.yaml', cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new EntenteError('ANYCAST_CONFIG_INVALID', `${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return parseAnycastConfig(doc, path);
}
