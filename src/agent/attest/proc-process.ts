// Parsers for what the agent reads about a caller's process in /proc/<pid>:
// the ids in `status`, the cgroup v2 path in `cgroup`, and the systemd unit
// that path names. Pure text functions.

export interface ProcessIds {
  /** Effective ids: what the kernel checks permissions against. */
  readonly uid: number;
  readonly gid: number;
}

/** "Uid:\treal\teffective\tsaved\tfs" and the same for Gid; undefined if either is missing. */
export function parseStatusIds(status: string): ProcessIds | undefined {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+(\\d+)`, 'm').exec(status);
    return m ? Number(m[2]) : undefined;
  };
  const uid = field('Uid');
  const gid = field('Gid');
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/**
 * The cgroup v2 path: the "0::<path>" line. Hosts in hybrid mode list v1
 * controllers too; only the unified line counts. Undefined on v1-only hosts.
 */
export function parseCgroupV2Path(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    if (line.startsWith('0::')) return line.slice(3).trim() || '/';
  }
  return undefined;
}

/**
 * The systemd unit a cgroup path belongs to: its innermost ".service" or
 * ".scope" segment ("/system.slice/shop-frontend.service" ->
 * "shop-frontend.service"; a user service under user@1000.service is its own
 * unit). Undefined outside any unit.
 */
export function systemdUnitOf(cgroupPath: string): string | undefined {
  const segments = cgroupPath.split('/').filter((s) => s.length > 0);
  for (let i = segments.length - 1; i >= 0; i--) {
    if (/\.(service|scope)$/.test(segments[i]!)) return segments[i];
  }
  return undefined;
}
