// Sparse peering: which peers a controller pulls when it pulls only `fanout`
// of them. Every controller computes the same k affine permutations of the
// ring of region names, so each region is pulled by about k others (exactly k
// when every controller is configured with the same set), and the union of k
// permutations is a random-looking graph whose diameter grows like log_k(N).
import { mulberry32 } from '../core/seeded-random.js';

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The `fanout` peers `self` pulls, in slot order: slot j maps self's position x
 * on the sorted ring (self and `peers`) to a_j·x + b_j mod N (a_j coprime to
 * N, so a permutation), skipping self and peers already chosen. All peers
 * when fanout covers them.
 */
export function spreadPeers(self: string, peers: readonly string[], fanout: number): string[] {
  const others = [...new Set(peers)].filter((p) => p !== self);
  if (fanout >= others.length) return [...others].sort();
  const ring = [...others, self].sort();
  const n = ring.length;
  const x = ring.indexOf(self);
  const rand = mulberry32(n * 7919 + 17);
  const chosen: string[] = [];
  for (let j = 0; chosen.length < fanout; j++) {
    let a = 1 + Math.floor(rand() * (n - 1));
    while (gcd(a, n) !== 1) a = (a % (n - 1)) + 1;
    const b = Math.floor(rand() * n);
    // Slot j's target, or the next free position on the ring (self, or a peer an earlier slot took).
    for (let step = 0, pos = (a * x + b) % n; step < n; step++, pos = (pos + 1) % n) {
      const r = ring[pos]!;
      if (r !== self && !chosen.includes(r)) {
        chosen.push(r);
        break;
      }
    }
    if (j > 4 * n) break;
  }
  return chosen;
}
