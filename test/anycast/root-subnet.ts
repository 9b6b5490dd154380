// Picks a /29 from 198.51.100.0/24 (documentation range) that no interface in
// the root namespace uses yet, for a veth from the test process to a router
// namespace: host .1 is the router, .2 onwards are ours.
import { randomInt } from 'node:crypto';
import { run } from '../../src/anycast/testbed/netns.js';

export async function pickRootSubnet(): Promise<{ router: string; hosts: string[] }> {
  const used = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 64; i++) {
    const base = 8 * randomInt(32);
    const all = [1, 2, 3, 4, 5, 6].map((n) => `198.51.100.${base + n}`);
    if (all.every((a) => !used.includes(`${a}/`))) return { router: all[0]!, hosts: all.slice(1) };
  }
  throw new Error('no free /29 left in 198.51.100.0/24 in the root namespace');
}
