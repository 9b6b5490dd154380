// Slow start for a region's direct path that comes back (probes find it
// reachable again, or its state fresh again): its level of the picker takes a
// growing share of picks over SLOW_START_MS, the rest stays on the path that
// carried the traffic meanwhile. A region flapping back would otherwise get
// all of it at once, cold sessions and all. Pure but for the clock passed in.

export const SLOW_START_MS = 10_000;
/** The share a returning path starts with. */
export const SLOW_START_FIRST_SHARE = 0.1;

export class PathRecovery {
  private readonly usable = new Map<string, boolean>();
  private readonly since = new Map<string, number>();

  /** The region's direct path is usable (not unreachable, not stale) as of `now`. */
  observe(region: string, usable: boolean, now: number): void {
    const before = this.usable.get(region);
    this.usable.set(region, usable);
    if (before === false && usable) this.since.set(region, now);
    if (!usable) this.since.delete(region);
  }

  /** Share of picks for the region's direct path: 1 unless it came back less than SLOW_START_MS ago. */
  share(region: string, now: number): number {
    const at = this.since.get(region);
    if (at === undefined) return 1;
    const t = (now - at) / SLOW_START_MS;
    if (t >= 1) {
      this.since.delete(region);
      return 1;
    }
    return SLOW_START_FIRST_SHARE + (1 - SLOW_START_FIRST_SHARE) * Math.max(0, t);
  }
}
