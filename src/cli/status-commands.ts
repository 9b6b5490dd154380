// `entente status` (one screen per region: peers and reachability, staleness,
// drift, nodes, certificate and bundle expiry) and `entente check` (a
// preflight, one line per check with a hint for each failure). Both read a
// controller's admin API, found as `entente drift` finds it.
import type { Command } from 'commander';
import { httpJson } from '../core/http-get-json.js';
import { EntenteError } from '../core/errors.js';
import { ENTENTE_VERSION } from '../core/build-info.js';
import { controllerUrl } from './operator-commands.js';
import { parseOutputFormat, structured, table } from './output.js';
import { formatChecks, runChecks, type DriftView, type StatusView } from './preflight-checks.js';

/** Exit codes of `entente check`. */
export const CHECK_EXIT = { passed: 0, failed: 1, usage: 2, unreachable: 4 } as const;

async function read<T>(url: string, path: string): Promise<T> {
  let res: { status: number; body: T };
  try {
    res = await httpJson<T>(`${url}${path}`, { timeoutMs: 10_000 });
  } catch (err) {
    throw new EntenteError('CLI_UNREACHABLE', `cannot read ${url}${path}: ${(err as Error).message}`);
  }
  if (res.status !== 200) throw new EntenteError('CLI_UNREACHABLE', `cannot read ${url}${path}: HTTP ${res.status}`);
  return res.body;
}

function requireController(flag: string | undefined): string {
  const url = controllerUrl(flag);
  if (url === undefined) throw new EntenteError('CLI_USAGE', 'no controller: pass --controller URL or set ENTENTE_CONTROLLER (e.g. http://127.0.0.1:15000)');
  return url;
}

function ago(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return ms < 172_800_000 ? `${Math.round(ms / 3_600_000)}h` : `${Math.round(ms / 86_400_000)}d`;
}

export function formatStatus(s: StatusView & { configVersion?: number }, drift: DriftView | undefined, wide: boolean): string {
  const lines: string[] = [];
  const nodes = s.nodes ?? [];
  const count = (kind: string) => {
    const all = nodes.filter((n) => n.kind === kind);
    return `${all.filter((n) => n.connected).length}/${all.length} connected`;
  };
  lines.push(`region ${s.region ?? '?'}   entente ${s.version ?? 'unknown'}   config version ${s.configVersion ?? '-'}   ${s.health?.healthy ? 'healthy' : 'NOT healthy'}`);
  lines.push(`policy   ${s.policy?.source ?? '?'}${s.policy?.ok === false ? ` (serving the last good set: ${s.policy.summary ?? ''})` : ''}${drift ? `   drift: ${drift.drift ? `${drift.differing?.length ?? 0} resources differ` : 'none'}` : ''}`);
  lines.push(`nodes    agents ${count('agent')}   gateways ${count('gateway')}`);
  if (wide) for (const n of nodes) lines.push(`           ${n.kind.padEnd(8)} ${n.node.padEnd(24)} ${n.connected ? 'connected' : 'NOT connected'}`);
  lines.push('', 'peers');
  const rows = [['REGION', 'FEDERATION', 'DIRECT PATH', 'RTT', 'RELAYED VIA', 'STATE', 'AGE', ...(wide ? ['LAST ERROR'] : [])]];
  for (const p of s.peers ?? []) {
    rows.push([
      p.region,
      p.relayOnly ? 'relay only' : p.reachable ? 'reachable' : 'UNREACHABLE',
      p.link === undefined ? '-' : p.link.reachable ? 'up' : 'CUT',
      p.link?.rttMs !== undefined ? `${Math.round(p.link.rttMs)}ms` : '-',
      (p.relays ?? []).map((r) => r.via).join(',') || '-',
      p.expired ? 'EXPIRED' : p.stale ? 'stale' : 'fresh',
      ago(p.ageMs),
      ...(wide ? [p.lastError ?? '-'] : []),
    ]);
  }
  lines.push(...table(rows).split('\n').map((l) => `  ${l}`));
  if ((s.data ?? []).length > 0) {
    lines.push('', 'data services');
    for (const d of s.data ?? []) {
      lines.push(`  ${d.route}   max lag ${d.maxLagMs / 1000} s   primary ${d.primary ?? 'NONE'}   reads: ${d.reads.order.join(' > ') || 'nowhere'}`);
      const rows = [['MEMBER', 'ROLE', 'LAG', 'SERVES READS', ...(wide ? ['DETAIL'] : [])]];
      for (const m of d.members) {
        const lag = m.role === 'primary' ? '-' : m.lagSeconds === null || m.lagSeconds === undefined ? 'unknown' : `${m.lagSeconds.toFixed(1)}s/${m.lagBytes ?? 0}B`;
        rows.push([m.member, m.role, lag, m.withinBound || m.role === 'primary' ? 'yes' : 'NO', ...(wide ? [m.error ? `${m.error.code}: ${m.error.message}` : '-'] : [])]);
      }
      lines.push(...table(rows).split('\n').map((l) => `    ${l}`));
    }
  }
  lines.push('', 'expiry');
  for (const e of s.expiry ?? []) lines.push(`  ${e.subject.padEnd(34)} ${e.expiresInMs <= 0 ? 'EXPIRED' : `in ${ago(e.expiresInMs)}`.padEnd(8)} ${e.notAfter}`);
  return `${lines.join('\n')}\n`;
}

export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description("a region at a glance: peers and reachability, staleness, drift, agents and gateways, certificate and bundle expiry")
    .option('--controller <url>', "a controller's admin URL (default: $ENTENTE_CONTROLLER)")
    .option('-o, --output <format>', 'text, wide, json or yaml', 'text')
    .action(async (opts: { controller?: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const url = requireController(opts.controller);
      const status = await read<StatusView & { configVersion?: number }>(url, '/v1/status');
      const drift = await read<DriftView>(url, '/v1/drift').catch(() => undefined);
      process.stdout.write(structured(format, { status, drift }) ?? formatStatus(status, drift, format === 'wide'));
    });
  program
    .command('check')
    .description('preflight: one line per check, a hint for each failure (exit 0 all passed, 1 a check failed, 4 controller unreachable)')
    .option('--controller <url>', "a controller's admin URL (default: $ENTENTE_CONTROLLER)")
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (opts: { controller?: string; output: string }) => {
      const format = parseOutputFormat(opts.output, ['text', 'json', 'yaml']);
      const url = requireController(opts.controller);
      const status = await read<StatusView>(url, '/v1/status');
      const drift = await read<DriftView>(url, '/v1/drift').catch(() => undefined);
      const results = runChecks(status, ENTENTE_VERSION, drift);
      const passed = !results.some((r) => r.outcome === 'fail');
      process.stdout.write(structured(format, { passed, checks: results }) ?? formatChecks(results));
      process.exitCode = passed ? CHECK_EXIT.passed : CHECK_EXIT.failed;
    });
}
