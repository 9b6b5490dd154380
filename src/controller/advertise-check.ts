// What a node may advertise as the address other nodes dial: a literal IP and
// a port 1-65535, bound to what the node is — one of the addresses registered
// for it with its join token or, when none were, the source address of its own
// config-stream connection — and never one of its controller's listeners. Pure.
import { canonicalIp, formatSocketAddress, isUnspecifiedIp, parseSocketAddress, sameListener, type SocketAddress } from '../core/address.js';

export type AdvertiseRefusal = 'malformed' | 'not_ip' | 'bad_port' | 'unspecified' | 'not_own' | 'controller_address';

export type AdvertiseDecision =
  | { readonly kind: 'ok'; readonly advertise: string }
  | { readonly kind: 'refused'; readonly reason: AdvertiseRefusal; readonly message: string };

export interface AdvertiseContext {
  readonly node: string;
  /** Addresses registered for the node (canonical IPs); empty: bind to `source`. */
  readonly registered: readonly string[];
  /** Remote address of the node's config-stream connection. */
  readonly source: string | undefined;
  /** Every address the controller listens on (agent API, federation, admin, bundle endpoint). */
  readonly controllerListeners: readonly SocketAddress[];
  readonly isLocal: (ip: string) => boolean;
}

export function checkAdvertise(text: string, ctx: AdvertiseContext): AdvertiseDecision {
  const refused = (reason: AdvertiseRefusal, expected: string): AdvertiseDecision => ({
    kind: 'refused',
    reason,
    message: `advertise: "${text}" refused for node ${ctx.node}: expected ${expected}`,
  });
  let addr: SocketAddress;
  try {
    addr = parseSocketAddress(text, 'advertise');
  } catch {
    return refused('malformed', 'a host:port address such as "10.0.0.5:15008" or "[2001:db8::5]:15008" (port 1-65535)');
  }
  const ip = canonicalIp(addr.host);
  if (ip === undefined) return refused('not_ip', `a literal IP address, not a name ("${addr.host}")`);
  if (addr.port < 1) return refused('bad_port', 'a port 1-65535');
  if (isUnspecifiedIp(ip)) return refused('unspecified', 'an address other nodes can dial, not 0.0.0.0 or :: (set advertise in the node config)');
  const own = ctx.registered.length > 0 ? ctx.registered : ctx.source !== undefined ? [canonicalIp(ctx.source) ?? ctx.source] : [];
  if (!own.includes(ip)) {
    const what = ctx.registered.length > 0 ? `an address registered for node ${ctx.node}: ${own.join(', ')}` : `the address node ${ctx.node} connects from (${own[0] ?? 'unknown'})`;
    return refused('not_own', `${what}; "${ip}" is not an address of node ${ctx.node} (register more with \`entente token create --address\`)`);
  }
  const normalized = { host: ip, port: addr.port };
  if (ctx.controllerListeners.some((l) => sameListener(l, normalized, ctx.isLocal))) {
    return refused('controller_address', "an address that is not one of the controller's own listeners");
  }
  return { kind: 'ok', advertise: formatSocketAddress(normalized) };
}
