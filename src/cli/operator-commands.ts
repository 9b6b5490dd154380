// Operator views that read a running controller's admin API: `entente drift`.
// The controller is found as kubectl finds its cluster: --controller URL, else
// the ENTENTE_CONTROLLER variable (`entente lab` prints the line to export).
import { outputFormatOf, structured, type OutputFormat } from './output.js';
import type { Command } from 'commander';
import { httpJson } from '../core/http-get-json.js';
import { EntenteError } from '../core/errors.js';
import { formatDrift, type DriftReport } from '../federation/drift.js';
import { ENTENTE_VERSION } from '../core/build-info.js';

/** Exit codes of `entente drift`: 0 no drift, 1 drift, 2 usage, 4 the controller could not be read. */
export const DRIFT_EXIT = { none: 0, drift: 1, usage: 2, unreachable: 4 } as const;

export function controllerUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = flag ?? env.ENTENTE_CONTROLLER;
  if (url === undefined || url === '') return undefined;
  if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) {
    throw new EntenteError('CLI_BAD_CONTROLLER', `controller URL "${url}" is not a controller admin URL; expected e.g. "http://127.0.0.1:15000"`);
  }
  return url.replace(/\/$/, '');
}

export function registerOperatorCommands(program: Command): void {
  registerVersion(program);
  program
    .command('drift')
    .description('list the policy resources that differ between regions (exit 0: none, 1: some)')
    .option('--controller <url>', "a controller's admin URL (default: $ENTENTE_CONTROLLER)")
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--json', 'the same as -o json')
    .action(async (opts: { controller?: string; json?: boolean; output?: string }) => {
      let url: string | undefined;
      let format: OutputFormat;
      try {
        format = outputFormatOf(opts);
        url = controllerUrl(opts.controller);
      } catch (err) {
        return fail(DRIFT_EXIT.usage, (err as Error).message);
      }
      if (url === undefined) return fail(DRIFT_EXIT.usage, 'no controller: pass --controller URL or set ENTENTE_CONTROLLER (e.g. http://127.0.0.1:15000)');
      let report: DriftReport;
      try {
        const res = await httpJson<DriftReport>(`${url}/v1/drift`, { timeoutMs: 10_000 });
        if (res.status !== 200 || typeof res.body?.drift !== 'boolean') throw new Error(`HTTP ${res.status}`);
        report = res.body;
      } catch (err) {
        return fail(DRIFT_EXIT.unreachable, `cannot read ${url}/v1/drift: ${(err as Error).message}`);
      }
      process.stdout.write(structured(format, report) ?? `${formatDrift(report)}\n`);
      process.exitCode = report.drift ? DRIFT_EXIT.drift : DRIFT_EXIT.none;
    });
}

/** What `entente version` prints with -o json. */
export interface VersionReport {
  client: { version: string; nodejs: string };
  controller?: { url: string; region?: string; version?: string; error?: string };
}

function registerVersion(program: Command): void {
  program
    .command('version')
    .description("print the client's version and, given a controller (--controller or $ENTENTE_CONTROLLER), the controller's")
    .option('--controller <url>', "a controller's admin URL (default: $ENTENTE_CONTROLLER)")
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { controller?: string; output: string }) => {
      if (opts.output !== 'text' && opts.output !== 'json') return fail(2, `-o ${opts.output}: expected "text" or "json"`);
      let url: string | undefined;
      try {
        url = controllerUrl(opts.controller);
      } catch (err) {
        return fail(2, (err as Error).message);
      }
      const report: VersionReport = { client: { version: ENTENTE_VERSION, nodejs: process.versions.node } };
      if (url !== undefined) {
        try {
          const res = await httpJson<{ version?: unknown; region?: unknown }>(`${url}/v1/status`, { timeoutMs: 10_000 });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          report.controller = {
            url,
            ...(typeof res.body?.region === 'string' ? { region: res.body.region } : {}),
            // A controller older than the version field says nothing: "unknown", not an error.
            version: typeof res.body?.version === 'string' ? res.body.version : 'unknown (older than 0.1.0)',
          };
        } catch (err) {
          report.controller = { url, error: `cannot read ${url}/v1/status: ${(err as Error).message}` };
        }
      }
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const lines = [`client:     entente ${report.client.version} (Node.js ${report.client.nodejs})`];
        const c = report.controller;
        if (c) lines.push(c.error !== undefined ? `controller: ${c.url}: ${c.error}` : `controller: entente ${c.version}${c.region ? ` (region ${c.region}, ${c.url})` : ` (${c.url})`}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      // A controller asked for and not read is a failure the caller should see (as kubectl version).
      process.exitCode = report.controller?.error !== undefined ? 4 : 0;
    });
}

function fail(code: number, message: string): void {
  process.stderr.write(`entente: ${message}\n`);
  process.exitCode = code;
}
