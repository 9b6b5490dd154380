// `entente lab` (the local multi-region mesh) and `entente demo-app` (one
// process of its demo application).
import type { Command } from 'commander';
import { Lab, type LabReport } from '../lab/lab.js';
import { DEFAULT_REGIONS, DEFAULT_RTT_MS } from '../lab/lab-topology.js';
import { renderSummary } from '../lab/lab-summary.js';
import { labAttest } from '../lab/lab-resources.js';
import { EntenteError } from '../core/errors.js';
import { loadDemoAppConfig, runDemoApp } from '../lab/demo-app.js';
import { createLogger } from '../core/log.js';
import { runUntilSignal } from './run-until-signal.js';

function parseRtt(text: string): Record<string, number> {
  const out: Record<string, number> = { ...DEFAULT_RTT_MS };
  for (const part of text.split(',').filter(Boolean)) {
    const m = /^([a-z0-9-]+?)-([a-z0-9]+)=(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (!m) throw new Error(`--rtt: "${part}" is not of the form a-b=MS (e.g. eu-us=90)`);
    out[`${m[1]}-${m[2]}`] = Number(m[3]);
  }
  return out;
}

export function registerLabCommands(program: Command): void {
  program
    .command('lab')
    .description('run a multi-region mesh on this machine with demo traffic and a live summary')
    .option('--regions <list>', 'comma-separated region names', DEFAULT_REGIONS.join(','))
    .option('--duration <seconds>', 'stop by itself after this many seconds of traffic')
    .option('--json', 'print the final report as JSON on stdout (the live summary goes to stderr)')
    .option('--workdir <dir>', 'keep generated configs, data and logs here')
    .option('--ip-prefix <127.N>', 'loopback range to use: 127.N.<region>.<host>', '127.77')
    .option('--rtt <pairs>', 'round-trip times, e.g. eu-us=90,eu-ap=160,us-ap=220')
    .option('--jitter <ms>', 'per-chunk jitter on WAN links', '2')
    .option('--rate <n>', 'requests per second per route', '20')
    .option('--no-traffic', 'start the mesh and the demo apps but drive no traffic')
    .option('--svid-ttl <duration>', 'SVID lifetime in every region (at least 5m)', '1h')
    .option('--attest <what>', 'what each Workload attests: "process" (the lab\'s uid and node executable) or "uid" (the lab\'s uid only, so your own curl may call as a workload)', 'process')
    .action(async (opts: { regions: string; duration?: string; json?: boolean; workdir?: string; ipPrefix: string; rtt?: string; jitter: string; rate: string; traffic: boolean; svidTtl: string; attest: string }) => {
      if (opts.attest !== 'process' && opts.attest !== 'uid') {
        throw new EntenteError('LAB_ATTEST', `--attest "${opts.attest}" is not one of "process", "uid"`, { hint: 'e.g. --attest uid to call the mesh with curl as the lab\'s user' });
      }
      const attest = labAttest();
      const out = opts.json ? process.stderr : process.stdout;
      const tty = out.isTTY === true;
      const lab = new Lab({
        regions: opts.regions.split(',').map((s) => s.trim()).filter(Boolean),
        ipPrefix: opts.ipPrefix,
        rttMs: parseRtt(opts.rtt ?? ''),
        jitterMs: Number(opts.jitter),
        rate: Number(opts.rate),
        ...(opts.workdir ? { workdir: opts.workdir } : {}),
        traffic: opts.traffic,
        svidTtl: opts.svidTtl,
        attest: opts.attest === 'uid' ? { uid: attest.uid! } : attest,
        onEvent: (line) => out.write(`lab: ${line}\n`),
      });
      let finished = false;
      const timers: { ticker?: NodeJS.Timeout } = {};
      const finish = async (why: string): Promise<void> => {
        if (finished) return;
        finished = true;
        if (timers.ticker) clearInterval(timers.ticker);
        out.write(`lab: stopping (${why})\n`);
        await lab.stop();
        const report: LabReport = lab.report();
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else out.write(`${renderSummary(report)}\n`);
        if (opts.workdir) out.write(`lab: configs, data and logs kept in ${lab.workdir}\n`);
        process.exitCode = report.expectationsMet ? 0 : 3;
        // Everything the lab started is stopped and the report is out (stdout and
        // stderr are synchronous on Linux). A handle that something outside the lab
        // still holds open (a component restarted by hand keeps WAN-link sockets
        // busy) must not keep the lab alive: exit shortly whatever is left.
        setTimeout(() => process.exit(), 1000).unref();
      };
      // The first signal stops the lab cleanly; a second one kills everything at once.
      let signals = 0;
      const onSignal = (why: string): void => {
        signals++;
        if (signals === 1) return void finish(why);
        out.write(`lab: ${why} again: killing every process now\n`);
        lab.killNow();
        process.exit(130);
      };
      process.on('SIGINT', () => onSignal('Ctrl-C'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('exit', () => lab.killNow());
      try {
        await lab.start();
      } catch (err) {
        finished = true;
        // Keep the work directory (even a temporary one): its logs say why the start failed.
        out.write(`lab: start failed: ${(err as Error).message}\nlab: work directory kept: ${lab.workdir}\nlab: logs in ${lab.workdir}/logs\n`);
        await lab.stop({ keepWorkdir: true });
        process.exitCode = 1;
        return;
      }
      const durationMs = opts.duration ? Number(opts.duration) * 1000 : undefined;
      timers.ticker = setInterval(() => {
        void lab.collect().then(() => {
          if (finished) return;
          const text = renderSummary(lab.report());
          out.write(tty ? `\x1b[2J\x1b[H${text}\n` : `${text}\n\n`);
        });
      }, 1000);
      if (durationMs !== undefined) setTimeout(() => void finish(`--duration ${opts.duration}`), durationMs);
    });

  program
    .command('lab-attack')
    .description("try every finding of the adversarial review against a running lab (started with --workdir) and report what held")
    .requiredOption('--workdir <dir>', "the lab's --workdir")
    .option('--json', 'print the results as JSON')
    .action(async (opts: { workdir: string; json?: boolean }) => {
      const { runAttacks, renderAttackResult } = await import('../lab/attack/run-attacks.js');
      const results = await runAttacks(opts.workdir, opts.json ? undefined : (r) => process.stdout.write(`${renderAttackResult(r)}\n`));
      const broken = results.filter((r) => !r.held);
      if (opts.json) process.stdout.write(`${JSON.stringify({ held: results.length - broken.length, broken: broken.length, results }, null, 2)}\n`);
      else process.stdout.write(`\n${results.length - broken.length} of ${results.length} held${broken.length ? `; ${broken.length} BROKEN` : ''}\n`);
      process.exitCode = broken.length === 0 ? 0 : 4;
    });

  program
    .command('demo-app')
    .description("one process of the lab's demo application (started by the lab)")
    .requiredOption('-c, --config <file>', 'app JSON written by the lab')
    .action(async (opts: { config: string }) => {
      const config = loadDemoAppConfig(opts.config);
      const log = createLogger('demo-app', { workload: config.workload });
      const app = await runDemoApp(config);
      runUntilSignal(log, () => app.close());
    });
}
