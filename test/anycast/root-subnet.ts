// Picks a /30 from 198.51.100.0/24 (documentation range) that no interface in
// the root namespace uses yet, for a veth from the test process to a router.
import { randomInt } from 'node:crypto';
import { run } from '../../src/anycast/testbed/netns.js';

export async function pickRootSubnet(): Promise<{ a: string; b: string }> {
  const used = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 64; i++) {
    const base = 4 * randomInt(64);
    if (!used.includes(`198.51.100.${base + 1}/`) && !used.includes(`198.51.100.${base + 2}/`)) {
      return { a: `198.51.100.${base + 1}`, b: `198.51.100.${base + 2}` };
    }
  }
  throw new Error('no free /30 left in 198.51.100.0/24 in the root namespace');
}
