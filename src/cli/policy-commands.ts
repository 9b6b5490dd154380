// `entente policy lint|test|explain` and `entente validate`: offline checks of
// a policy directory and of config files, with the loaders and the authorizer
// the components use. Exit codes: 0 clean, 1 findings, 2 usage.
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { EntenteError } from '../core/errors.js';
import { loadResourceDir, type LocatedLoadResult } from '../policy/load-resources.js';
import { lintResources } from '../policy/tools/lint.js';
import { formatFinding, fromLoaderError } from '../policy/tools/finding.js';
import { formatCaseResult, parseCases, runCases } from '../policy/tools/cases.js';
import { buildAuthzRequest, describeRequest } from '../policy/tools/authz-request.js';
import { explainRequest } from '../policy/tools/explain.js';
import { formatExplanation } from './explain-format.js';
import { parseOutputFormat, structured } from './output.js';
import { formatReports, validatePath } from './validate-files.js';

export const POLICY_EXIT = { clean: 0, findings: 1, usage: 2 } as const;

const FORMATS = ['text', 'json', 'yaml'] as const;

async function loadDir(dir: string): Promise<LocatedLoadResult> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new EntenteError('CLI_USAGE', `${dir}: not a directory (expected a policy resource directory)`);
  return loadResourceDir(dir);
}

/** A directory the controller would refuse: its errors, and exit 1 (test and explain would decide over a partial set). */
function refuseBroken(loaded: LocatedLoadResult, dir: string): boolean {
  if (loaded.errors.length === 0) return false;
  process.stderr.write(`${loaded.errors.map((e) => formatFinding(fromLoaderError(e))).join('\n')}\n${dir}: ${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}: the controller would refuse this directory (entente policy lint ${dir})\n`);
  process.exitCode = POLICY_EXIT.findings;
  return true;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new EntenteError('CLI_USAGE', `--port ${value}: expected a port number 1-65535`);
  return n;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('check a policy directory offline: lint, test cases, explain one request');

  policy
    .command('lint')
    .description('load DIR as the controller would and report errors, dangling references and rules that never decide (exit 0 clean, 1 errors, 2 usage)')
    .argument('<dir>', 'policy resource directory')
    .option('--strict', 'warnings (shadowed rules, unknown service accounts) fail too')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (dir: string, opts: { strict?: boolean; output: string }) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const report = lintResources(await loadDir(dir));
      const failed = report.errors > 0 || (opts.strict === true && report.warnings > 0);
      const summary = `${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`;
      const text = `${[...report.findings.map(formatFinding), `${dir}: ${summary}`].join('\n')}\n`;
      process.stdout.write(structured(format, { dir, ok: !failed, ...report }) ?? text);
      process.exitCode = failed ? POLICY_EXIT.findings : POLICY_EXIT.clean;
    });

  policy
    .command('test')
    .description('decide every case of CASES.yaml with the real authorizer over DIR, one line per case (exit 0 all pass, 1 a case fails, 2 usage or a bad CASES.yaml)')
    .argument('<dir>', 'policy resource directory')
    .argument('<cases>', 'YAML list of {name?, from, to, port?, method?, path?, region?, expect: allow|deny, rule?}')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (dir: string, casesFile: string, opts: { output: string }) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      let text: string;
      try {
        text = await readFile(casesFile, 'utf8');
      } catch (err) {
        throw new EntenteError('CLI_USAGE', `cannot read ${casesFile}: ${(err as Error).message}`);
      }
      const parsed = parseCases(text, casesFile);
      if (!parsed.ok) {
        process.stderr.write(`${casesFile} has ${parsed.problems.length} problem${parsed.problems.length === 1 ? '' : 's'}:\n${parsed.problems.map((p) => `  ${p.message.replace(/\n/g, '\n    ')}`).join('\n')}\n`);
        process.exitCode = POLICY_EXIT.usage;
        return;
      }
      const loaded = await loadDir(dir);
      if (refuseBroken(loaded, dir)) return;
      const results = runCases(loaded.resources, parsed.cases);
      const failed = results.filter((r) => !r.passed).length;
      const lines = [...results.map((r) => formatCaseResult(r, casesFile)), `${results.length} case${results.length === 1 ? '' : 's'}: ${results.length - failed} passed, ${failed} failed`];
      process.stdout.write(structured(format, { dir, cases: casesFile, passed: failed === 0, results }) ?? `${lines.join('\n')}\n`);
      process.exitCode = failed > 0 ? POLICY_EXIT.findings : POLICY_EXIT.clean;
    });

  policy
    .command('explain')
    .description('the verdict for one request, the policy and rule that decided it, and for a deny the closest ALLOW rule and why it did not match (exit 0, 1 DIR does not load, 2 usage)')
    .argument('<dir>', 'policy resource directory')
    .requiredOption('--from <id>', "the caller's SPIFFE ID")
    .requiredOption('--to <service>', 'namespace/service, or service when one namespace has it')
    .option('--port <n>', 'Service port (default: the Service\'s only port)')
    .option('--method <m>', 'HTTP method (http ports; default GET)')
    .option('--path <p>', 'request path (http ports; default /)')
    .option('--region <r>', "the caller's region (default: unknown)")
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (dir: string, opts: { from: string; to: string; port?: string; method?: string; path?: string; region?: string; output: string }) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const port = opts.port === undefined ? undefined : parsePort(opts.port);
      const loaded = await loadDir(dir);
      if (refuseBroken(loaded, dir)) return;
      const { from, to, method, path, region } = opts;
      const built = buildAuthzRequest(loaded.resources, { from, to, ...(port === undefined ? {} : { port }), ...(method === undefined ? {} : { method }), ...(path === undefined ? {} : { path }), ...(region === undefined ? {} : { region }) });
      if (!built.ok) throw new EntenteError('CLI_USAGE', built.problems.map((p) => `--${p.key}: ${p.message}`).join('; '));
      const explanation = explainRequest(loaded.resources, loaded.located, built.request);
      const report = { request: describeRequest(built.request), assumed: built.assumed, ...explanation };
      process.stdout.write(structured(format, report) ?? formatExplanation(built.request, built.assumed, explanation));
      process.exitCode = POLICY_EXIT.clean;
    });

  program
    .command('validate')
    .description('check config and resource files offline with the schema each component uses: region.yaml, agent.yaml, gateway.yaml, anycast.yaml, resources, policy test cases (exit 0 valid, 1 problems, 2 usage)')
    .argument('<path>', 'a file, or a directory (every *.yaml / *.yml under it)')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (path: string, opts: { output: string }) => {
      const format = parseOutputFormat(opts.output, FORMATS);
      const reports = await validatePath(path);
      if (reports.length === 0) throw new EntenteError('CLI_USAGE', `${path}: no *.yaml or *.yml files`);
      const ok = reports.every((r) => r.ok);
      process.stdout.write(structured(format, { ok, files: reports }) ?? formatReports(reports));
      process.exitCode = ok ? POLICY_EXIT.clean : POLICY_EXIT.findings;
    });
}
