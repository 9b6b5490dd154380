// Runs the open-loop generator (open-loop-generator.ts) in a child process,
// so its event loop shares nothing with the benchmark's, and tells the caller
// when the schedule starts and when the last answer is in: the window over
// which the agents' CPU is charged.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OpenLoopResult, OpenLoopSpec } from './open-loop-generator.js';

export type { OpenLoopResult, OpenLoopSpec };

const GENERATOR = fileURLToPath(new URL('./open-loop-generator.js', import.meta.url));

export interface OpenLoopHooks {
  onStarted?(): void;
  onFinished?(): void;
}

export function runOpenLoop(spec: OpenLoopSpec, hooks: OpenLoopHooks = {}): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GENERATOR, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Bounded even if the generator hangs: the schedule, the last timeouts and a margin.
    const kill = setTimeout(() => p.kill('SIGKILL'), (spec.durationS + spec.timeoutMs / 1000 + 30) * 1000);
    let result: OpenLoopResult | undefined;
    createInterface({ input: p.stdout }).on('line', (line) => {
      let m: { event?: string; result?: OpenLoopResult };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.event === 'started') hooks.onStarted?.();
      else if (m.event === 'finished') hooks.onFinished?.();
      else if (m.event === 'result') result = m.result;
    });
    p.once('error', (err) => {
      clearTimeout(kill);
      reject(err);
    });
    p.once('close', (code, signal) => {
      clearTimeout(kill);
      if (result) resolve(result);
      else reject(new Error(`open-loop generator against ${spec.host}:${spec.port}${spec.path} ended without a result (${signal ?? `code ${code}`})`));
    });
  });
}
