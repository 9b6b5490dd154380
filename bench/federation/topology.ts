// The bench's mesh, computed the same way by the driver and every worker:
// region names, loopback addresses, and which directed peer links a random
// partition blocks (a pure function of the seed, so no list is shipped around).

export const PEERS_PORT = 15013;
/** Where blocked links point: a TCP sink of the driver that accepts and never answers (a dropping partition). */
export const BLACKHOLE = { host: '127.64.0.1', port: PEERS_PORT };

export const regionName = (i: number): string => `r${i}`;

/** Controller i's own loopback address, under 127.63.0.0/16. */
export function addressOf(i: number): string {
  return `127.63.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** A small integer hash (splitmix-like) of (seed, a, b) in [0, 1). */
function unit(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 0x1_0000_0000;
}

/** Whether controller `from`'s pulls from `to` are cut (directed: the reverse link is drawn separately). */
export function blocked(seed: number, share: number, from: number, to: number): boolean {
  return share > 0 && unit(seed, from, to) < share;
}

export interface MeshSpec {
  readonly regions: number;
  readonly seed: number;
  readonly partitionShare: number;
  readonly pullIntervalMs: number;
  readonly staleAfterMs: number;
  readonly resignIntervalMs?: number;
  readonly fanout?: number;
  readonly root: string;
}
