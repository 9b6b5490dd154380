// `entente anycast --config anycast.yaml` runs the announcer;
// `entente anycast status` reads a running announcer's status endpoint.
import { outputFormatOf, structured } from '../cli/output.js';
import type { Command } from 'commander';
import { EntenteError, describeError } from '../core/errors.js';
import { loggerFrom, withLogOptions } from '../cli/log-options.js';
import { formatSocketAddress } from '../core/address.js';
import { loadAnycastConfig } from './config.js';
import { startAnycastDaemon } from './anycast-daemon.js';
import { formatStatus } from './status-format.js';
import type { StatusDocument } from './status-server.js';

async function runAnycast(configPath: string, logOpts: { logLevel?: string; logFormat?: string }): Promise<void> {
  const cfg = await loadAnycastConfig(configPath);
  const log = loggerFrom(logOpts, 'anycast');
  const daemon = await startAnycastDaemon(cfg, log);
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) process.exit(1); // a second signal: give up on the graceful path
      signalled = true;
      log.info({ signal: sig }, 'withdrawing anycast prefixes before exit');
      daemon.stop(`received ${sig}`).then(resolve, (err: unknown) => {
        log.error({ err }, 'graceful stop failed');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

export async function fetchStatus(statusUrl: string): Promise<StatusDocument> {
  const url = `${statusUrl.replace(/\/+$/, '')}/status`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    throw new EntenteError('ANYCAST_STATUS_UNREACHABLE', `cannot reach the announcer's status endpoint ${url}: ${describeError((err as { cause?: unknown }).cause ?? err)}`, {
      hint: 'is `entente anycast` running? pass --status-url or --config with the status.listen address it uses',
    });
  }
  if (!res.ok) throw new EntenteError('ANYCAST_STATUS_FAILED', `${url} answered HTTP ${res.status}`, { hint: 'is that address an anycast announcer?' });
  return (await res.json()) as StatusDocument;
}

async function showStatus(opts: { config: string; statusUrl?: string; json?: boolean; output?: string }): Promise<void> {
  const format = outputFormatOf(opts);
  let base = opts.statusUrl;
  if (!base) {
    const cfg = await loadAnycastConfig(opts.config);
    const l = cfg.status.listen;
    const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
    base = `http://${formatSocketAddress({ host, port: l.port })}`;
  }
  const doc = await fetchStatus(base);
  process.stdout.write(structured(format, doc) ?? formatStatus(doc));
}

function report(err: unknown): void {
  process.stderr.write(`entente anycast: ${describeError(err)}\n`);
  process.exitCode = err instanceof EntenteError && err.code.startsWith('CLI_') ? 2 : 1;
}

export function registerAnycastCommands(program: Command): void {
  const anycast = withLogOptions(program
    .command('anycast')
    .description("announce the region's anycast prefixes over BGP while it is healthy; withdraw them when it is not")
    .option('-c, --config <path>', 'announcer configuration (YAML)', 'anycast.yaml'))
    .action(async (opts: { config: string; logLevel?: string; logFormat?: string }) => {
      await runAnycast(opts.config, opts).catch(report);
    });
  anycast
    .command('status')
    .description('show a running announcer: sessions, announced routes, health and history')
    .option('--status-url <url>', "the announcer's status endpoint, e.g. http://127.0.0.1:9179 (default: status.listen from --config)")
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--json', 'the same as -o json')
    .action(async (_opts: unknown, cmd: Command) => {
      await showStatus(cmd.optsWithGlobals<{ config: string; statusUrl?: string; json?: boolean; output?: string }>()).catch(report);
    });
}
