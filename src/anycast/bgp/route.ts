// What the announcer wants the world to see, and how it becomes UPDATE
// messages for one session (eBGP adds our AS and prepends; iBGP adds
// LOCAL_PREF; IPv6 prefixes travel in MP_REACH/MP_UNREACH per RFC 4760).
import { Afi, Safi, type OriginValue } from './constants.js';
import type { UpdateMessage } from './messages.js';
import { type Prefix, formatPrefix } from './prefix.js';

export interface Announcement {
  readonly prefix: Prefix;
  /** Unset: the local address of the session (next-hop self). */
  readonly nextHop?: string;
  readonly origin: OriginValue;
  /** Extra copies of our AS on the path, so that other sites are preferred. */
  readonly prepend: number;
  readonly med?: number;
  readonly communities: readonly number[];
}

export interface SessionContext {
  readonly localAs: number;
  readonly peerAs: number;
  readonly localAddress: string;
}

export function announcementKey(a: Announcement): string {
  return formatPrefix(a.prefix);
}

/** A stable text of everything that goes on the wire, so unchanged routes are not re-sent. */
export function announcementFingerprint(a: Announcement): string {
  return JSON.stringify([formatPrefix(a.prefix), a.nextHop ?? '', a.origin, a.prepend, a.med ?? null, [...a.communities]]);
}

export function buildAnnounceUpdate(a: Announcement, s: SessionContext): UpdateMessage {
  const ebgp = s.localAs !== s.peerAs;
  const asPath = ebgp ? [{ type: 2 as const, asns: new Array<number>(1 + a.prepend).fill(s.localAs) }] : [];
  const nextHop = a.nextHop ?? s.localAddress;
  const base = {
    origin: a.origin,
    asPath,
    ...(a.med !== undefined ? { med: a.med } : {}),
    ...(ebgp ? {} : { localPref: 100 }),
    ...(a.communities.length > 0 ? { communities: [...a.communities] } : {}),
  };
  if (a.prefix.family === 4) return { type: 'update', withdrawn: [], nlri: [a.prefix], attributes: { ...base, nextHop } };
  return {
    type: 'update', withdrawn: [], nlri: [],
    attributes: { ...base, mpReach: { afi: Afi.IPV6, safi: Safi.UNICAST, nextHops: [nextHop], nlri: [a.prefix] } },
  };
}

export function buildWithdrawUpdates(prefixes: readonly Prefix[]): UpdateMessage[] {
  const v4 = prefixes.filter((p) => p.family === 4);
  const v6 = prefixes.filter((p) => p.family === 6);
  const out: UpdateMessage[] = [];
  if (v4.length > 0) out.push({ type: 'update', withdrawn: v4, nlri: [], attributes: {} });
  if (v6.length > 0) out.push({ type: 'update', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: Afi.IPV6, safi: Safi.UNICAST, withdrawn: v6 } } });
  return out;
}

export function endOfRib(family: 4 | 6): UpdateMessage {
  return family === 4
    ? { type: 'update', withdrawn: [], nlri: [], attributes: {} }
    : { type: 'update', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: Afi.IPV6, safi: Safi.UNICAST, withdrawn: [] } } };
}

/** Communities are written "65001:100" in config; a few well-known names are accepted too. */
export function parseCommunity(text: string): number | undefined {
  const named: Record<string, number> = { 'graceful-shutdown': 0xffff0000, 'no-export': 0xffffff01, 'no-advertise': 0xffffff02, 'no-export-subconfed': 0xffffff03, blackhole: 0xffff029a };
  if (named[text] !== undefined) return named[text];
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) return undefined;
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}
