// The BGP messages as plain immutable values; codecs turn them into bytes and
// back, and the session logic only ever sees these.
import type { OriginValue } from './constants.js';
import type { Prefix } from './prefix.js';

export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

/** A decoder either yields a value or the NOTIFICATION the peer must receive. */
export type Decoded<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly notification: Notification };

export function ok<T>(value: T): Decoded<T> {
  return { kind: 'ok', value };
}

export function fail<T = never>(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): Decoded<T> {
  return { kind: 'error', notification: { code, subcode, data } };
}

export interface Capabilities {
  /** AFI/SAFI pairs from the multiprotocol capability (RFC 4760). */
  readonly multiprotocol: readonly { readonly afi: number; readonly safi: number }[];
  readonly routeRefresh: boolean;
  /** The sender's real AS number when it supports 4-octet AS numbers (RFC 6793). */
  readonly fourOctetAs: number | undefined;
  /** Capabilities we do not interpret, kept so decode(encode(x)) is lossless. */
  readonly unknown: readonly { readonly code: number; readonly value: Uint8Array }[];
}

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS for 4-octet ASNs). */
  readonly myAs: number;
  readonly holdTime: number;
  /** BGP identifier as a dotted quad. */
  readonly bgpId: string;
  readonly capabilities: Capabilities;
}

export interface AsPathSegment {
  readonly type: 1 | 2;
  readonly asns: readonly number[];
}

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** One global next hop, optionally followed by a link-local one (IPv6). */
  readonly nextHops: readonly string[];
  readonly nlri: readonly Prefix[];
}

export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
}

export interface PathAttributes {
  readonly origin?: OriginValue;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  /** RFC 1997 communities as 32-bit numbers (high 16 bits: AS, low 16: value). */
  readonly communities?: readonly number[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  readonly as4Path?: readonly AsPathSegment[];
  /** Optional attributes we carry but do not interpret (e.g. AGGREGATOR). */
  readonly other?: readonly { readonly flags: number; readonly type: number; readonly value: Uint8Array }[];
}

export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: readonly Prefix[];
  readonly attributes: PathAttributes;
  readonly nlri: readonly Prefix[];
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface NotificationMessage extends Notification {
  readonly type: 'notification';
}

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | KeepaliveMessage | NotificationMessage | RouteRefreshMessage;

/** What the codecs need to know about the session: RFC 6793 changes AS_PATH's width. */
export interface CodecContext {
  readonly fourOctetAs: boolean;
}

/** True when an UPDATE is an End-of-RIB marker (RFC 4724 §2). */
export function isEndOfRib(u: UpdateMessage): { afi: number; safi: number } | undefined {
  const a = u.attributes;
  const keys = Object.keys(a).filter((k) => a[k as keyof PathAttributes] !== undefined);
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && keys.length === 0) return { afi: 1, safi: 1 };
  if (u.withdrawn.length === 0 && u.nlri.length === 0 && keys.length === 1 && a.mpUnreach && a.mpUnreach.withdrawn.length === 0) {
    return { afi: a.mpUnreach.afi, safi: a.mpUnreach.safi };
  }
  return undefined;
}
