// Which IP addresses belong to this host: its interfaces' addresses plus the
// whole loopback range. Used to bind a node's outgoing connections to the
// address it advertises, and to recognise wildcard listeners of this host.
import { networkInterfaces } from 'node:os';
import { canonicalIp } from './address.js';

/** True for 127.0.0.0/8, ::1 and any address configured on an interface right now. */
export function isLocalAddress(ip: string): boolean {
  const c = canonicalIp(ip);
  if (c === undefined) return false;
  if (c === '::1' || /^127\./.test(c)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (canonicalIp(i.address) === c) return true;
  }
  return false;
}
