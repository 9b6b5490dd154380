// anycast.yaml: one zod schema checked whole at start-up by the shared config
// loader (src/core/config-file.ts): every problem in one pass, with its line,
// key, the bad value and what was expected; durations, prefixes, addresses and
// communities are parsed here into typed values.
import { isIP } from 'node:net';
import * as z from 'zod';
import { EntenteError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { parseSocketAddress, type SocketAddress } from '../core/address.js';
import { checkConfig, loadConfigFile } from '../core/config-file.js';
import { type Prefix, parsePrefix } from './bgp/prefix.js';
import { parseCommunity, type Announcement } from './bgp/route.js';
import type { OriginValue } from './bgp/constants.js';

const HINT = 'see docs/anycast.md for every key and its format';

// Each text is the whole "expected" of a message (wrong type, missing key or bad value alike).
const duration = (what = 'a duration such as "1s" or "200ms"') => z.string({ error: what }).transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch {
    ctx.issues.push({ code: 'custom', message: what, input: s });
    return z.NEVER;
  }
});
const IP_TEXT = 'an IP address such as "192.0.2.1"';
const ip = z.string({ error: IP_TEXT }).refine((s) => isIP(s) !== 0, { message: IP_TEXT });
const IPV4_TEXT = 'an IPv4 address such as "192.0.2.1"';
const ipv4 = z.string({ error: IPV4_TEXT }).refine((s) => isIP(s) === 4, { message: IPV4_TEXT });
const ASN_TEXT = 'an AS number 1..4294967295';
const asn = z.number({ error: ASN_TEXT }).int({ error: ASN_TEXT }).min(1, { error: ASN_TEXT }).max(4294967295, { error: ASN_TEXT });
const PREFIX_TEXT = 'an IP prefix such as "203.0.113.10/32"';
const prefix = z.string({ error: PREFIX_TEXT }).transform((s, ctx): Prefix => {
  try {
    return parsePrefix(s);
  } catch (err) {
    ctx.issues.push({ code: 'custom', message: `${PREFIX_TEXT} (${(err as EntenteError).message.replace(/^prefix: /, '')})`, input: s });
    return z.NEVER;
  }
});
const COMMUNITY_TEXT = 'a community "ASN:VALUE" (each 0..65535) or graceful-shutdown, no-export, no-advertise, blackhole';
const community = z.string({ error: COMMUNITY_TEXT }).transform((s, ctx) => {
  const c = parseCommunity(s);
  if (c === undefined) {
    ctx.issues.push({ code: 'custom', message: COMMUNITY_TEXT, input: s });
    return z.NEVER;
  }
  return c;
});
const SOCKET_TEXT = 'host:port such as "127.0.0.1:9179"';
const socketAddress = z.string({ error: SOCKET_TEXT }).transform((s, ctx): SocketAddress => {
  try {
    return parseSocketAddress(s);
  } catch {
    ctx.issues.push({ code: 'custom', message: SOCKET_TEXT, input: s });
    return z.NEVER;
  }
});
// RFC 4271: a hold time is 0 (no keepalives) or at least 3 s; 1-2 s are refused.
const HOLD_TIME_TEXT = 'a whole number of seconds, 0 or 3s..65535s (RFC 4271 refuses 1-2 s)';
const holdTime = z.string({ error: HOLD_TIME_TEXT }).transform((s, ctx) => {
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch {
    ms = NaN;
  }
  const sec = ms / 1000;
  if (!Number.isInteger(sec) || (sec !== 0 && (sec < 3 || sec > 65535))) {
    ctx.issues.push({ code: 'custom', message: HOLD_TIME_TEXT, input: s });
    return z.NEVER;
  }
  return sec;
});
const URL_TEXT = 'an http:// or https:// URL';
const url = z.string({ error: URL_TEXT }).refine((s) => /^https?:\/\/[^/]+/.test(s), { message: URL_TEXT });

const peerSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'letters, digits, "_", "." or "-"' }).optional(),
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
  prepend: z.number().int().min(0).max(16, { message: '0..16 extra copies of the local AS' }).default(0),
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
  peers: z.array(peerSchema).min(1, { message: 'at least one peer' }),
  announce: z.array(announceSchema).min(1, { message: 'at least one prefix to announce' }),
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
      ctx.addIssue({ code: 'custom', path: ['announce', i, 'nextHop'], message: 'an IPv6 next hop: an IPv6 prefix announced over an IPv4 session needs one' });
    }
  });
  c.peers.forEach((p, i) => {
    if (p.reconnect.min > p.reconnect.max) ctx.addIssue({ code: 'custom', path: ['peers', i, 'reconnect'], message: 'min <= max' });
  });
  if (c.health.fastInterval > c.health.interval) ctx.addIssue({ code: 'custom', path: ['health', 'fastInterval'], message: 'fastInterval <= interval' });
  if (c.flapGuard.withdrawPenalty >= c.flapGuard.limit) ctx.addIssue({ code: 'custom', path: ['flapGuard', 'limit'], message: 'limit > withdrawPenalty' });
});

type Raw = z.output<typeof anycastConfigSchema>;
export type HealthCheckConfig = Raw['health']['checks'][number];

/** An announcement as configured is exactly what the speaker announces. */
export type AnnounceConfig = Announcement;

export type AnycastConfig = Omit<Raw, 'announce'> & { readonly announce: readonly AnnounceConfig[] };

const ORIGINS: Record<string, OriginValue> = { igp: 0, egp: 1, incomplete: 2 };

/** Validates a parsed YAML/JSON document; throws one BAD_CONFIG EntenteError listing every problem. */
export function parseAnycastConfig(doc: unknown, source = 'anycast config'): AnycastConfig {
  return toAnycastConfig(checkConfig(anycastConfigSchema, doc, source, HINT));
}

/** Reads and checks anycast.yaml with the shared loader: problems name their line. */
export async function loadAnycastConfig(path: string): Promise<AnycastConfig> {
  return toAnycastConfig(loadConfigFile(anycastConfigSchema, path, HINT));
}

function toAnycastConfig(raw: Raw): AnycastConfig {
  return { ...raw, announce: raw.announce.map((a) => ({ ...a, origin: ORIGINS[a.origin]! })) };
}
