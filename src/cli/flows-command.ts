// `entente flows`: a region's flows as its controller sees them (its agents'
// and, when they answer, its peers'), like `hubble observe`. Filters are
// applied by the controllers; --follow polls with a time cursor.
import type { Command } from 'commander';
import { httpJson } from '../core/http-get-json.js';
import { EntenteError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { StoredFlow } from '../mesh/flow-wire.js';
import type { RegionFlowsAnswer } from '../controller/region-flows.js';
import { controllerUrl } from './operator-commands.js';
import { parseOutputFormat, structured, table, type OutputFormat } from './output.js';

export interface FlowsOptions {
  controller?: string;
  from?: string;
  to?: string;
  service?: string;
  region?: string;
  verdict?: string;
  status?: string;
  since?: string;
  limit?: string;
  follow?: boolean;
  output: string;
}

/** Flows a long-running stream may report late (start time before the cursor) are still caught, deduplicated. */
const FOLLOW_OVERLAP_MS = 15_000;
const FOLLOW_EVERY_MS = 1000;

/** The controller query for these options; CLI_USAGE names a bad option. */
export function flowsQuery(o: FlowsOptions, now = Date.now()): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'service', 'region', 'verdict', 'status'] as const) if (o[k] !== undefined) p.set(k, o[k]);
  if (o.verdict !== undefined && !['allow', 'deny', 'error'].includes(o.verdict)) throw new EntenteError('CLI_USAGE', `--verdict ${o.verdict}: expected allow, deny or error`);
  if (o.status !== undefined && !/^(\d{3}|[1-5]xx)$/.test(o.status)) throw new EntenteError('CLI_USAGE', `--status ${o.status}: expected a status code such as 503 or a class such as 5xx`);
  if (o.limit !== undefined) {
    if (!/^\d{1,4}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 5000) throw new EntenteError('CLI_USAGE', `--limit ${o.limit}: expected a number from 1 to 5000`);
    p.set('limit', o.limit);
  }
  if (o.since !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(o.since, '--since');
    } catch (err) {
      throw new EntenteError('CLI_USAGE', `${(err as Error).message}; expected a duration such as 30s, 5m or 1h`);
    }
    p.set('since', String(now - ms));
  }
  return p;
}

function flowKey(f: StoredFlow): string {
  return `${f.region}|${f.node}|${f.time}|${f.direction}|${f.source ?? f.sourceAddress ?? ''}|${f.service ?? ''}|${f.port ?? ''}|${f.durationMs}|${f.bytesIn}|${f.bytesOut}`;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** "ns/sa" of a workload identity, or the identity / address as given. */
function who(f: StoredFlow): string {
  const m = f.source ? /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(f.source) : null;
  return m ? `${m[2]}/${m[3]}` : (f.source ?? f.sourceAddress ?? 'unknown');
}

/** The policy and rule that decided, else the reason (in short unless wide: the table stays readable). */
function decidedBy(f: StoredFlow, wide: boolean): string {
  if (f.policy !== undefined) return `${f.policy}${f.rule !== undefined ? `#${f.rule}` : ''}`;
  if (f.reason === undefined) return f.verdict === 'deny' ? 'default deny' : '-';
  if (wide) return f.reason;
  if (/\(default deny\)$/.test(f.reason)) return 'default deny';
  return f.reason.length > 48 ? `${f.reason.slice(0, 47)}…` : f.reason;
}

export function flowRows(flows: readonly StoredFlow[], wide: boolean): string[][] {
  const head = ['TIME', 'REGION', 'DIR', 'SOURCE', 'DESTINATION', 'PATH', 'VERDICT', 'BY', 'STATUS', 'DURATION'];
  const rows = [wide ? [...head, 'NODE', 'BYTES OUT/IN', 'REQUEST'] : head];
  for (const f of flows) {
    const row = [
      clock(f.time),
      f.region,
      f.direction === 'outbound' ? 'out' : 'in',
      who(f),
      `${f.service ?? '-'}${f.port !== undefined ? `:${f.port}` : ''}`,
      f.regionPath ?? `${f.sourceRegion ?? '?'}>${f.destinationRegion ?? '?'}`,
      f.verdict.toUpperCase(),
      decidedBy(f, wide),
      f.status !== undefined ? String(f.status) : '-',
      `${Math.round(f.durationMs)}ms`,
    ];
    rows.push(wide ? [...row, f.node, `${f.bytesOut}/${f.bytesIn}`, f.method !== undefined ? `${f.method} ${f.path ?? ''}` : '-'] : row);
  }
  return rows;
}

function unreachable(a: RegionFlowsAnswer): string[] {
  return a.regions.filter((r) => !r.ok).map((r) => `region ${r.region} could not be read: ${r.error ?? 'unknown'}`);
}

async function fetchFlows(url: string, q: URLSearchParams): Promise<RegionFlowsAnswer> {
  let res: { status: number; body: RegionFlowsAnswer & { error?: { message?: string } } };
  try {
    res = await httpJson(`${url}/v1/flows?${q.toString()}`, { timeoutMs: 10_000 });
  } catch (err) {
    throw new EntenteError('CLI_UNREACHABLE', `cannot read ${url}/v1/flows: ${(err as Error).message}`);
  }
  if (res.status === 400) throw new EntenteError('CLI_USAGE', res.body.error?.message ?? 'the controller refused the query');
  if (res.status !== 200 || !Array.isArray(res.body?.flows)) throw new EntenteError('CLI_UNREACHABLE', `cannot read ${url}/v1/flows: HTTP ${res.status}`);
  return res.body;
}

function print(format: OutputFormat, a: RegionFlowsAnswer, header: boolean): void {
  if (format === 'json' || format === 'yaml') {
    // --follow with -o json: one JSON object per poll, on one line (JSON Lines).
    process.stdout.write(header ? structured(format, { flows: a.flows, regions: a.regions })! : `${JSON.stringify({ flows: a.flows, regions: a.regions })}\n`);
  } else {
    const rows = flowRows(a.flows, format === 'wide');
    const lines = table(rows).split('\n');
    const out = header ? lines : lines.slice(1);
    if (out.length > 0 && (header || a.flows.length > 0)) process.stdout.write(`${out.join('\n')}\n`);
  }
  for (const line of unreachable(a)) process.stderr.write(`entente: ${line}\n`);
}

export function registerFlowsCommand(program: Command): void {
  program
    .command('flows')
    .description("show a region's flows: its agents' and its peers' (verdict, policy and rule, status, latency)")
    .option('--controller <url>', "a controller's admin URL (default: $ENTENTE_CONTROLLER)")
    .option('--from <who>', 'source: a SPIFFE ID, "namespace/serviceaccount" or a name')
    .option('--to <service>', 'destination service: "namespace/name" or a name')
    .option('--service <name>', 'either side')
    .option('--region <name>', 'a region on either side')
    .option('--verdict <v>', 'allow, deny or error')
    .option('--status <code>', 'an HTTP status (503) or class (5xx)')
    .option('--since <duration>', 'only flows started within this long, e.g. 5m')
    .option('--limit <n>', 'at most this many (newest; default 500, at most 5000)')
    .option('-f, --follow', 'keep printing new flows until Ctrl-C')
    .option('-o, --output <format>', 'text, wide, json or yaml', 'text')
    .action(async (opts: FlowsOptions) => {
      const format = parseOutputFormat(opts.output);
      if (opts.follow && format === 'yaml') throw new EntenteError('CLI_USAGE', '--follow prints JSON lines or text; use -o json, text or wide');
      const url = controllerUrl(opts.controller);
      if (url === undefined) throw new EntenteError('CLI_USAGE', 'no controller: pass --controller URL or set ENTENTE_CONTROLLER (e.g. http://127.0.0.1:15000)');
      const q = flowsQuery(opts);
      const first = await fetchFlows(url, q);
      print(format, first, true);
      if (!opts.follow) return;
      const seen = new Map<string, number>();
      for (const f of first.flows) seen.set(flowKey(f), f.time);
      let cursor = Math.max(Date.now() - FOLLOW_OVERLAP_MS, ...first.flows.map((f) => f.time - FOLLOW_OVERLAP_MS));
      for (;;) {
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
        q.set('since', String(cursor));
        const a = await fetchFlows(url, q).catch((err: unknown) => {
          process.stderr.write(`entente: ${(err as Error).message}; retrying\n`);
          return undefined;
        });
        if (!a) continue;
        const fresh = a.flows.filter((f) => !seen.has(flowKey(f)));
        for (const f of fresh) seen.set(flowKey(f), f.time);
        cursor = Math.max(cursor, Date.now() - FOLLOW_OVERLAP_MS);
        for (const [k, t] of seen) if (t < cursor) seen.delete(k);
        print(format, { ...a, flows: fresh }, false);
      }
    });
}
