// Between runs, waits until the processes under test are idle again: an
// overloaded variant leaves a backlog (queued streams, timers) that would
// otherwise be charged to the next variant measured.
import { eventually } from '../../src/core/eventually.js';
import { cpusBetween, sampleProcess, type ProcSample } from './proc-stat.js';

export const QUIET_CPUS = 0.05;
const WINDOW_MS = 250;

/** True once every pid used under QUIET_CPUS over one window; false if that did not happen within timeoutMs. */
export async function waitQuiet(pids: readonly number[], timeoutMs = 15_000): Promise<boolean> {
  let last: (ProcSample | undefined)[] = pids.map(sampleProcess);
  try {
    await eventually(
      () => {
        const now = pids.map(sampleProcess);
        const busy = now.some((s, i) => s && last[i] && cpusBetween(last[i]!, s) >= QUIET_CPUS);
        last = now;
        return !busy;
      },
      { what: 'the processes under test to go idle', timeoutMs, intervalMs: WINDOW_MS },
    );
    return true;
  } catch {
    return false;
  }
}
