// A process's own CPU time and resident memory, read from /proc: how the
// benchmark charges the agents (utime + stime of /proc/<pid>/stat over the
// measured window, VmRSS of /proc/<pid>/status).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcSample {
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
  readonly rssBytes: number;
  /** performance.now() when read. */
  readonly atMs: number;
}

/** utime + stime from a /proc/<pid>/stat line; the command name may hold spaces and parentheses, so fields count from the last ")". */
export function parseStatCpuTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const f = stat.slice(close + 2).trim().split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  return Number.isInteger(utime) && Number.isInteger(stime) ? utime + stime : undefined;
}

export function parseStatusRssBytes(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

let clockTicks: number | undefined;

/** Clock ticks per second (USER_HZ): 100 on every Linux build we know, asked of getconf once in case. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(v) && v > 0 ? v : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Undefined when the process is gone (or this is not Linux). */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const cpuTicks = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const rssBytes = parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (cpuTicks === undefined || rssBytes === undefined) return undefined;
    return { cpuTicks, rssBytes, atMs: performance.now() };
  } catch {
    return undefined;
  }
}

/** CPUs in use over the window between two samples (1.0 = one core busy the whole time). */
export function cpusBetween(a: ProcSample, b: ProcSample): number {
  const seconds = (b.atMs - a.atMs) / 1000;
  return seconds > 0 ? (b.cpuTicks - a.cpuTicks) / clockTicksPerSecond() / seconds : 0;
}
