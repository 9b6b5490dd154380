// A tiny seeded PRNG (mulberry32): the same seed gives the same sequence on
// every run and every host, so a statistical test assertion never flakes and
// every controller computes the same sparse-peering permutations (peer-spread.ts).

/** Uniform in [0, 1), reproducible from `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
