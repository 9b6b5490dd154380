// Picks a /29 from 198.51.100.0/24 (documentation range) that no interface in
// the root namespace uses yet, for a veth from the test process to a router
// namespace: host .1 is the router, .2 onwards are ours. Each test file has
// its own quarter of the /24 (`slot` 0-3), so files running in parallel never
// race for the same subnet; the random pick within it avoids leftovers.
import { randomInt } from 'node:crypto';
import { run } from '../../src/anycast/testbed/netns.js';

export async function pickRootSubnet(slot: 0 | 1 | 2 | 3): Promise<{ router: string; hosts: string[]; v6: { router: string; host: string } }> {
  const used = await run('ip', ['-o', 'addr', 'show']);
  for (let i = 0; i < 32; i++) {
    const n = randomInt(8);
    const base = 64 * slot + 8 * n;
    const all = [1, 2, 3, 4, 5, 6].map((h) => `198.51.100.${base + h}`);
    const v6net = `2001:db8:${(0xe000 + slot * 8 + n).toString(16)}::`;
    if (all.every((a) => !used.includes(`${a}/`)) && !used.includes(v6net)) {
      return { router: all[0]!, hosts: all.slice(1), v6: { router: `${v6net}1`, host: `${v6net}2` } };
    }
  }
  throw new Error(`no free /29 left in slot ${slot} of 198.51.100.0/24 in the root namespace`);
}
