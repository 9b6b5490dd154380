// The checks of `entente check`, as a pure function of what the controller's
// admin API said (status, health, drift): one result per check, each failure
// with a hint, as `linkerd check` does. Tested without a controller.
import type { ExpiryItem } from '../controller/expiry.js';

export type CheckOutcome = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly detail: string;
  readonly hint?: string;
}

/** The parts of GET /v1/status the checks read (all optional: an older controller may lack some). */
export interface StatusView {
  region?: string;
  version?: string;
  health?: { healthy?: boolean; gateways?: { healthy: number; total: number }; exportedServices?: { healthy: number; total: number } };
  policy?: { source?: string; ok?: boolean; summary?: string; configPushed?: boolean };
  nodes?: { node: string; kind: string; connected?: boolean }[];
  links?: { gateways?: unknown[] };
  peers?: {
    region: string;
    reachable?: boolean;
    relayOnly?: boolean;
    lastError?: string;
    lastSuccessAt?: string;
    stale?: boolean;
    expired?: boolean;
    ageMs?: number;
    link?: { reachable: boolean; rttMs?: number };
    relays?: { via: string }[];
  }[];
  expiry?: ExpiryItem[];
  /** Data services (docs/data-routing.md). */
  data?: {
    route: string;
    maxLagMs: number;
    primary?: string;
    members: { member: string; role: string; lagSeconds?: number | null; lagBytes?: number; withinBound: boolean; error?: { code: string; message: string } }[];
    reads: { order: string[]; why: string };
    writes: { order: string[]; why: string };
  }[];
}

export interface DriftView {
  drift?: boolean;
  differing?: { resource?: string; regions?: Record<string, string | null> }[];
  unknown?: string[];
}

/**
 * Certificates and bundles that run out sooner than this are a warning, or
 * sooner than a quarter of their lifetime for short-lived ones: the
 * controller's serving certificate lives an hour and is renewed at half its
 * life, so only one that missed its renewal is worth a warning.
 */
export const EXPIRY_WARN_MS = 24 * 3_600_000;

export function expiryWarnThresholdMs(lifetimeMs: number | undefined): number {
  return lifetimeMs !== undefined && lifetimeMs > 0 ? Math.min(EXPIRY_WARN_MS, lifetimeMs / 4) : EXPIRY_WARN_MS;
}

function seconds(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

export function runChecks(s: StatusView, clientVersion: string, drift: DriftView | undefined, now = Date.now()): CheckResult[] {
  const out: CheckResult[] = [];
  const add = (name: string, outcome: CheckOutcome, detail: string, hint?: string): void => {
    out.push({ name, outcome, detail, ...(hint !== undefined && outcome !== 'ok' ? { hint } : {}) });
  };
  const region = s.region ?? '?';
  add('controller answers', 'ok', `region ${region}, entente ${s.version ?? 'unknown'}`);
  add(
    'client and controller versions match',
    s.version === clientVersion ? 'ok' : 'warn',
    s.version === clientVersion ? `both ${clientVersion}` : `client ${clientVersion}, controller ${s.version ?? 'unknown'}`,
    'upgrade the older of the two; a skew works but the newest fields may be missing',
  );
  const p = s.policy;
  add(
    'policy is in force',
    p?.source !== undefined && p.source !== 'none' && p.configPushed !== false ? (p.ok === false ? 'warn' : 'ok') : 'fail',
    p?.source === 'none' || p?.source === undefined ? 'no resource set in force: nodes keep their cached config' : p.ok === false ? `serving the last good set: ${p.summary ?? ''}` : `from ${p.source}`,
    'fix the resource directory (entente policy lint DIR; the controller log names the file and line)',
  );
  const nodes = s.nodes ?? [];
  for (const kind of ['agent', 'gateway'] as const) {
    const all = nodes.filter((n) => n.kind === kind);
    const down = all.filter((n) => n.connected !== true).map((n) => n.node);
    add(
      `${kind}s are connected`,
      all.length === 0 ? (kind === 'gateway' ? 'fail' : 'warn') : down.length > 0 ? 'fail' : 'ok',
      all.length === 0 ? `no ${kind} enrolled` : down.length > 0 ? `${down.length} of ${all.length} not connected: ${down.join(', ')}` : `${all.length} connected`,
      kind === 'gateway' ? "start the region's gateway (entente gateway --config gateway.yaml); without one no other region can reach this one" : 'start the agent on that node, or check it can reach the controller agent API',
    );
  }
  const h = s.health?.exportedServices;
  if (h) add('exported services have a connected replica', h.healthy === h.total ? 'ok' : 'fail', `${h.healthy} of ${h.total}`, 'start the agents of the nodes that host them');
  for (const peer of s.peers ?? []) {
    const since = peer.lastSuccessAt ? now - Date.parse(peer.lastSuccessAt) : undefined;
    const relayed = (peer.relays ?? []).map((r) => r.via);
    if (peer.relayOnly) add(`peer ${peer.region} is reachable`, 'ok', 'relay only (no URL configured)');
    else
      add(
        `peer ${peer.region} is reachable`,
        peer.reachable ? 'ok' : 'fail',
        peer.reachable
          ? `federation API answers${peer.link?.rttMs !== undefined ? `, gateway RTT ${Math.round(peer.link.rttMs)} ms` : ''}`
          : `peer ${peer.region}: unreachable${since !== undefined ? ` for ${seconds(since)}` : ''}${peer.lastError ? ` (last error: ${peer.lastError})` : ''}`,
        `check the network path to ${peer.region}'s controller (listen.peers) and its certificate; traffic keeps flowing on the last state held${relayed.length > 0 ? ` and through ${relayed.join(', ')}` : ''}`,
      );
    add(
      `state of ${peer.region} is fresh`,
      peer.expired ? 'fail' : peer.stale ? 'warn' : 'ok',
      peer.expired ? 'expired: its services are withheld' : peer.stale ? `stale${peer.ageMs !== undefined ? `, signed ${seconds(peer.ageMs)} ago` : ''}: routes kept but demoted` : `signed ${peer.ageMs !== undefined ? `${seconds(peer.ageMs)} ago` : 'recently'}`,
      `no fresh state from ${peer.region} has arrived, directly or relayed (docs/operations.md "Staleness")`,
    );
    if (peer.link && !peer.link.reachable) {
      add(`direct path to ${peer.region}`, 'warn', relayed.length > 0 ? `cut: relayed through ${relayed.join(', ')}` : 'cut and no relay', `the gateways' probes to ${peer.region} fail (docs/operations.md "Reachability")`);
    }
  }
  if (drift) {
    const n = drift.differing?.length ?? 0;
    add('policy is the same in every region', drift.drift ? 'warn' : 'ok', drift.drift ? `${n} resource${n === 1 ? '' : 's'} differ (entente drift)` : drift.unknown?.length ? `unknown for ${drift.unknown.join(', ')}` : 'no drift', 'run entente drift to see which; roll the change out everywhere or back');
  }
  for (const d of s.data ?? []) {
    add(`data service ${d.route} has a primary`, d.primary ? 'ok' : 'fail', d.primary ? `${d.primary}` : d.writes.why, 'writes are refused until one member probes as primary; check the servers and the probe credentials (entente status -o wide)');
    const replicas = d.members.filter((m) => m.role !== 'primary');
    const over = replicas.filter((m) => !m.withinBound);
    if (replicas.length > 0) {
      add(
        `replicas of ${d.route} are within ${d.maxLagMs / 1000} s`,
        over.length === 0 ? 'ok' : over.length === replicas.length ? 'fail' : 'warn',
        over.length === 0 ? `${replicas.length} of ${replicas.length}` : `${over.map((m) => `${m.member} (${m.error ? m.error.code : m.lagSeconds === null || m.lagSeconds === undefined ? 'lag unknown' : `${m.lagSeconds.toFixed(1)} s behind`})`).join(', ')}: reads go to the others or the primary`,
        'a replica behind serves no reads until it catches up; see docs/data-routing.md',
      );
    }
  }
  for (const e of s.expiry ?? []) {
    add(
      `${e.subject} is valid`,
      e.expiresInMs <= 0 ? 'fail' : e.expiresInMs < expiryWarnThresholdMs(e.lifetimeMs) ? 'warn' : 'ok',
      e.expiresInMs <= 0 ? `expired at ${e.notAfter}` : `expires in ${seconds(e.expiresInMs)} (${e.notAfter})`,
      e.kind === 'bundle' ? `the peer must publish a renewed bundle; check its bundle endpoint or replace the bootstrap file` : 'the controller renews it itself; if it does not, check its log',
    );
  }
  return out;
}

const MARK: Record<CheckOutcome, string> = { ok: '√ ok  ', warn: '‼ warn', fail: '× FAIL' };

export function formatChecks(results: readonly CheckResult[]): string {
  const lines = results.map((r) => `${MARK[r.outcome]}  ${r.name}: ${r.detail}${r.hint ? `\n          hint: ${r.hint}` : ''}`);
  const failed = results.filter((r) => r.outcome === 'fail').length;
  const warned = results.filter((r) => r.outcome === 'warn').length;
  lines.push('', failed > 0 ? `${failed} check${failed === 1 ? '' : 's'} failed, ${warned} warning${warned === 1 ? '' : 's'}` : `all checks passed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`);
  return `${lines.join('\n')}\n`;
}
