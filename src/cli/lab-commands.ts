// `entente lab` (the local multi-region mesh) and `entente demo-app` (one
// process of its demo application).
import type { Command } from 'commander';
import { Lab, type LabReport } from '../lab/lab.js';
import { DEFAULT_REGIONS, DEFAULT_RTT_MS, PORTS, isLabIpPrefix } from '../lab/lab-topology.js';
import { pickFreePrefix, prefixFree } from '../lab/free-prefix.js';
import { renderCompactLine, renderSummary } from '../lab/lab-summary.js';
import { labAttest } from '../lab/lab-resources.js';
import { EntenteError } from '../core/errors.js';
import { zDurationMs } from '../core/config-types.js';
import { formatDuration } from '../core/duration.js';
import { MIN_SVID_TTL_MS } from '../identity/local-ca.js';
import { loadDemoAppConfig, runDemoApp } from '../lab/demo-app.js';
import { loggerFrom, withLogOptions } from './log-options.js';
import { runUntilSignal } from './run-until-signal.js';
import { DRILLS, isStoreStep, loadScenario, namedDrill, type Scenario } from '../lab/scenario.js';
import { PG_PACKAGE, postgresBinDir } from '../lab/pg-binaries.js';
import { loadStoreClientConfig, runStoreClient } from '../lab/store-client.js';
import { renderDrillReport, type DrillReport } from '../lab/drill-report.js';
import { runDrill, unservableRoutes } from '../lab/drill-runner.js';

/** Where `entente lab` starts looking for a free loopback range (the README's addresses are in it). */
export const DEFAULT_IP_PREFIX = '127.77';

/** What `entente lab` was given on its command line, as commander hands it over. */
export interface LabCliInput {
  regions: string;
  duration?: string;
  /** Undefined: the first free range from DEFAULT_IP_PREFIX up. */
  ipPrefix?: string;
  rtt?: string;
  jitter: string;
  rate: string;
  svidTtl: string;
  attest: string;
  otlp?: string;
}

/** The same options, checked and parsed. */
export interface LabCliOptions {
  regions: string[];
  /** Undefined: run until Ctrl-C. */
  durationMs?: number;
  /** Undefined: pick the first free range from DEFAULT_IP_PREFIX up. */
  ipPrefix?: string;
  rttMs: Record<string, number>;
  jitterMs: number;
  rate: number;
  /** As given (the controllers parse it again, with the same parser). */
  svidTtl: string;
  attest: 'process' | 'uid';
  /** Agents export spans and flows to this OTLP/HTTP collector. */
  otlp?: string;
}

/** A bad command-line option: the lab exits 2 with this message before starting anything. */
export class LabOptionError extends EntenteError {
  constructor(option: string, value: string, expected: string) {
    super('LAB_OPTION', `${option} "${value}" is not valid: expected ${expected}`);
  }
}

export const MAX_LAB_RATE = 1000;

function number(option: string, text: string, expected: string, ok: (n: number) => boolean, shown = text): number {
  const n = /^\s*\d+(?:\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || !ok(n)) throw new LabOptionError(option, shown, expected);
  return n;
}

function parseRtt(text: string, regions: readonly string[]): Record<string, number> {
  const out: Record<string, number> = { ...DEFAULT_RTT_MS };
  const expected = `comma-separated pairs a-b=MS of regions in --regions (${regions.join(', ')}), e.g. eu-us=90`;
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new LabOptionError('--rtt', part, expected);
    const pair = part.slice(0, eq);
    // Region names may hold '-': split where both halves are regions of this lab.
    const at = Array.from({ length: pair.length }, (_, i) => i).find((i) => pair[i] === '-' && regions.includes(pair.slice(0, i)) && regions.includes(pair.slice(i + 1)));
    if (at === undefined || pair.slice(0, at) === pair.slice(at + 1)) throw new LabOptionError('--rtt', part, expected);
    out[`${pair.slice(0, at)}-${pair.slice(at + 1)}`] = number('--rtt', part.slice(eq + 1), 'a-b=MS with MS a round-trip time in milliseconds from 0 to 60000, e.g. eu-us=90', (n) => n >= 0 && n <= 60_000, part);
  }
  return out;
}

/** Checks every option of `entente lab` up front; throws LabOptionError naming the option, the value and what is expected. */
export function parseLabCliOptions(input: LabCliInput): LabCliOptions {
  const regions = input.regions.split(',').map((s) => s.trim()).filter(Boolean);
  const regionsExpected = 'at least two distinct comma-separated region names (lowercase letters, digits and "-"), e.g. eu,us,ap';
  if (regions.length < 2 || new Set(regions).size !== regions.length || !regions.every((r) => /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(r))) {
    throw new LabOptionError('--regions', input.regions, regionsExpected);
  }
  if (input.ipPrefix !== undefined && !isLabIpPrefix(input.ipPrefix)) {
    throw new LabOptionError('--ip-prefix', input.ipPrefix, '127.N with N from 0 to 255, e.g. 127.77');
  }
  let svidTtlMs: number | undefined;
  const ttl = zDurationMs.safeParse(input.svidTtl);
  if (ttl.success) svidTtlMs = ttl.data;
  if (svidTtlMs === undefined || svidTtlMs < MIN_SVID_TTL_MS) {
    throw new LabOptionError('--svid-ttl', input.svidTtl, `a duration of at least ${formatDuration(MIN_SVID_TTL_MS)} such as "30m" or "1h" (controllers refuse shorter SVIDs)`);
  }
  if (input.attest !== 'process' && input.attest !== 'uid') {
    throw new LabOptionError('--attest', input.attest, '"process" or "uid" (e.g. --attest uid to call the mesh with curl as the lab\'s user)');
  }
  if (input.otlp !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(input.otlp)) {
    throw new LabOptionError('--otlp', input.otlp, 'an OTLP/HTTP collector base URL such as "http://127.0.0.1:4318"');
  }
  const durationS = input.duration === undefined ? undefined : number('--duration', input.duration, 'a number of seconds above 0, e.g. 20', (n) => n > 0);
  return {
    regions,
    ...(durationS === undefined ? {} : { durationMs: Math.round(durationS * 1000) }),
    ...(input.ipPrefix !== undefined ? { ipPrefix: input.ipPrefix } : {}),
    rttMs: parseRtt(input.rtt ?? '', regions),
    jitterMs: number('--jitter', input.jitter, 'a number of milliseconds, 0 or more, e.g. 2', (n) => n >= 0 && n <= 10_000),
    rate: number('--rate', input.rate, `a number of requests per second per route above 0 and at most ${MAX_LAB_RATE}, e.g. 20`, (n) => n > 0 && n <= MAX_LAB_RATE),
    svidTtl: input.svidTtl,
    attest: input.attest,
    ...(input.otlp !== undefined ? { otlp: input.otlp } : {}),
  };
}

export function registerLabCommands(program: Command): void {
  program
    .command('lab')
    .description('run a multi-region mesh on this machine with demo traffic and a live summary')
    .option('--regions <list>', 'comma-separated region names', DEFAULT_REGIONS.join(','))
    .option('--duration <seconds>', 'stop by itself after this many seconds of traffic')
    .option('--json', 'print the final report as JSON on stdout (the live summary goes to stderr)')
    .option('--workdir <dir>', 'keep generated configs, data and logs here')
    .option('--ip-prefix <127.N>', `loopback range to use: 127.N.<region>.<host> (default: the first free one from ${DEFAULT_IP_PREFIX} up)`)
    .option('--rtt <pairs>', 'round-trip times, e.g. eu-us=90,eu-ap=160,us-ap=220')
    .option('--jitter <ms>', 'per-chunk jitter on WAN links', '2')
    .option('--rate <n>', 'requests per second per route', '20')
    .option('--drill <name>', `run a named drill and report on it (exit 3 if an expectation fails): ${Object.keys(DRILLS).join(', ')}`)
    .option('--scenario <file>', 'run a drill from a YAML timeline (docs/operations.md "Lab drills")')
    .option('--no-traffic', 'start the mesh and the demo apps but drive no traffic')
    .option('--no-store', 'start without the replicated store (PostgreSQL, DataRoute shop/orders and its clients)')
    .option('--svid-ttl <duration>', 'SVID lifetime in every region (at least 5m)', '1h')
    .option('--otlp <url>', "agents export spans and flow records to this OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (queued on disk while it is down)")
    .option('--attest <what>', 'what each Workload attests: "process" (the lab\'s uid and node executable) or "uid" (the lab\'s uid only, so your own curl may call as a workload)', 'process')
    .action(async (opts: LabCliInput & { json?: boolean; workdir?: string; traffic: boolean; store: boolean; drill?: string; scenario?: string }) => {
      let parsed: LabCliOptions;
      let scenario: Scenario | undefined;
      try {
        parsed = parseLabCliOptions(opts);
        if (opts.drill !== undefined && opts.scenario !== undefined) throw new LabOptionError('--drill', opts.drill, 'either --drill or --scenario, not both');
        if ((opts.drill !== undefined || opts.scenario !== undefined) && opts.traffic === false) throw new LabOptionError('--no-traffic', 'set', 'demo traffic for a drill (drop --no-traffic)');
        // A drill's timeline sets its length (the scenario's "duration"): a second length would contradict it.
        if ((opts.drill !== undefined || opts.scenario !== undefined) && opts.duration !== undefined) throw new LabOptionError('--duration', opts.duration, "no --duration with a drill: its timeline sets its length (write a --scenario file with its own \"duration\" to change it)");
        if (opts.drill !== undefined) scenario = namedDrill(opts.drill);
        if (opts.scenario !== undefined) scenario = loadScenario(opts.scenario);
        // Store steps without a store would fail only after the whole mesh started: refuse them now.
        const storeStep = scenario?.steps.find(isStoreStep);
        if (storeStep && !opts.store) throw new LabOptionError('--no-store', 'set', `the replicated store for the step ${JSON.stringify(storeStep)} (drop --no-store)`);
        if (storeStep && !postgresBinDir()) throw new EntenteError('PG_NOT_INSTALLED', `the step ${JSON.stringify(storeStep)} needs the lab's replicated store, and PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin): install the Debian package "${PG_PACKAGE}"`);
      } catch (err) {
        if (!(err instanceof EntenteError)) throw err;
        // A usage error: nothing started, exit 2 (as commander does for an unknown option).
        process.stderr.write(`entente lab: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const attest = labAttest();
      const out = opts.json ? process.stderr : process.stdout;
      const tty = out.isTTY === true;
      let ipPrefix = parsed.ipPrefix;
      if (ipPrefix === undefined) {
        const first = Number(DEFAULT_IP_PREFIX.split('.')[1]);
        ipPrefix = await pickFreePrefix(first, parsed.regions.length);
        if (ipPrefix === undefined) {
          process.stderr.write(`entente lab: no free loopback range from ${DEFAULT_IP_PREFIX} up (other labs hold them); stop one, or pass --ip-prefix 127.N\n`);
          process.exitCode = 1;
          return;
        }
        if (ipPrefix !== DEFAULT_IP_PREFIX) out.write(`lab: ${DEFAULT_IP_PREFIX} is in use (another lab?); using ${ipPrefix}\n`);
      } else if (!(await prefixFree(ipPrefix, parsed.regions.length))) {
        process.stderr.write(`entente lab: --ip-prefix ${ipPrefix} is in use: a controller address of that range (${ipPrefix}.N.1:${PORTS.controllerAdmin}) is bound, by another lab perhaps; omit --ip-prefix to pick a free range\n`);
        process.exitCode = 1;
        return;
      }
      const lab = new Lab({
        regions: parsed.regions,
        ipPrefix,
        rttMs: parsed.rttMs,
        jitterMs: parsed.jitterMs,
        rate: parsed.rate,
        ...(opts.workdir ? { workdir: opts.workdir } : {}),
        traffic: opts.traffic,
        store: opts.store,
        svidTtl: parsed.svidTtl,
        attest: parsed.attest === 'uid' ? { uid: attest.uid! } : attest,
        // Every request the lab drives starts a trace: sample a few per second per agent.
        ...(parsed.otlp ? { extra: { agentTelemetry: { otlp: { endpoint: parsed.otlp, flows: true }, sampling: { rootsPerSecond: 5 } } } } : {}),
        onEvent: (line) => out.write(`lab: ${line}\n`),
      });
      let finished = false;
      // During a drill, the routes its fault leaves without a replica are expected to fail: the live view names them apart.
      let unservable: ReadonlySet<string> = new Set();
      const timers: { ticker?: NodeJS.Timeout } = {};
      const finish = async (why: string, drill?: DrillReport): Promise<void> => {
        if (finished) return;
        finished = true;
        if (timers.ticker) clearInterval(timers.ticker);
        out.write(`lab: stopping (${why})\n`);
        await lab.stop();
        const report: LabReport = lab.report();
        if (drill) {
          // A drill's report replaces the lab's: --json prints it alone on stdout.
          if (opts.json) process.stdout.write(`${JSON.stringify(drill, null, 2)}\n`);
          else out.write(`${renderSummary(report, { unservable })}\n${renderDrillReport(drill)}\n`);
          const failed = drill.expectations.filter((e) => !e.met);
          if (failed.length > 0) process.stderr.write(`lab: drill ${drill.drill}: ${failed.length} expectation(s) not met: ${failed.map((e) => e.what).join('; ')}\n`);
        } else if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else out.write(`${renderSummary(report)}\n`);
        if (opts.workdir) out.write(`lab: configs, data and logs kept in ${lab.workdir}\n`);
        process.exitCode = (drill ? drill.expectationsMet : report.expectationsMet) ? 0 : 3;
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
      // What an operator types next, as `kubectl` users get a context: printed once,
      // and kept at the top of a terminal's redrawn table.
      const operatorLines = [
        `lab: dashboard: ${lab.adminUrl(parsed.regions[0]!)}/dashboard/ (every controller serves one)`,
        `lab: for entente status, check, flows and drift: export ENTENTE_CONTROLLER=${lab.adminUrl(parsed.regions[0]!)}`,
      ];
      out.write(`${operatorLines.join('\n')}\n`);
      const durationMs = parsed.durationMs;
      if (scenario) {
        try {
          unservable = unservableRoutes(lab, scenario);
        } catch {
          /* a bad name in the scenario: runDrill reports it */
        }
      }
      // --no-traffic: no route moves, so there is nothing to redraw; the final report still lists unexpected exits.
      if (opts.traffic !== false) timers.ticker = setInterval(() => {
        void lab.collect().then(() => {
          if (finished) return;
          // A terminal redraws the table; a log or a pipe gets one line a second (the table comes at the end).
          const report = lab.report();
          out.write(tty ? `\x1b[2J\x1b[H${operatorLines.join('\n')}\n${renderSummary(report, { unservable })}\n` : `lab: ${renderCompactLine(report, { unservable })}\n`);
        });
      }, 1000);
      if (scenario) {
        const name = scenario.name;
        out.write(`lab: drill ${name}: ${DRILLS[name]?.expect ?? `scenario ${opts.scenario}`}\n`);
        runDrill(lab, scenario, { onEvent: (line) => out.write(`lab: ${line}\n`) }).then(
          (drill) => finish(`drill ${name} done`, drill),
          async (err: unknown) => {
            out.write(`lab: drill ${name} failed: ${(err as Error).message}\n`);
            await finish(`drill ${name} failed`);
            process.exitCode = err instanceof EntenteError ? 2 : 1;
          },
        );
      } else if (durationMs !== undefined) setTimeout(() => void finish(`--duration ${opts.duration}`), durationMs);
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

  labProcessCommand(program, 'demo-app', "one process of the lab's demo application (started by the lab)", (path) => {
    const config = loadDemoAppConfig(path);
    return { workload: config.workload, run: () => runDemoApp(config) };
  });
  labProcessCommand(program, 'lab-store-client', "one region's writer and reader of the lab's replicated store (started by the lab)", (path) => {
    const config = loadStoreClientConfig(path);
    return { workload: config.name, run: () => runStoreClient(config) };
  });
}

/** A process the lab starts with a JSON config it wrote: runs until a signal, then closes. */
function labProcessCommand(program: Command, name: string, description: string, load: (path: string) => { workload: string; run: () => Promise<{ close(): Promise<void> }> }): void {
  withLogOptions(program.command(name).description(description).requiredOption('-c, --config <file>', 'JSON written by the lab'))
    .action(async (opts: { config: string; logLevel?: string; logFormat?: string }) => {
      const { workload, run } = load(opts.config);
      const log = loggerFrom(opts, name, { workload });
      const proc = await run();
      runUntilSignal(log, () => proc.close());
    });
}
