// Human output of `entente anycast status`: announcement, health, sessions,
// then the recent history, newest last.
import type { StatusDocument } from './status-server.js';

function ago(now: number, t: number | undefined): string {
  if (t === undefined) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function formatStatus(d: StatusDocument): string {
  const a = d.announcement;
  const h = d.health;
  const lines = [
    `announcement: ${a.state.toUpperCase()} since ${ago(d.now, a.since)} — ${a.reason}`,
    `  prefixes:   ${a.prefixes.join(', ')}`,
  ];
  if (a.holdUntil !== undefined) lines.push(`  flap guard holds re-announcement for ${Math.ceil((a.holdUntil - d.now) / 1000)}s`);
  lines.push(`  flap penalty (RFC 2439 estimate): ${d.flapPenalty}`);
  lines.push(`  maintenance: ${d.maintenance ? 'ON' : 'off'}`);
  lines.push(`health: ${h.healthy ? 'healthy' : 'unhealthy'}${h.pending ? ` (change pending: ${h.streak}/${h.healthy ? h.fall : h.rise})` : ''}, rise ${h.rise} / fall ${h.fall}, last round ${ago(d.now, h.lastRound)}${h.region ? `, region ${h.region}` : ''}`);
  for (const c of h.checks) lines.push(`  ${c.ok === undefined ? '?' : c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? ` — ${c.detail}` : ''}${c.latencyMs !== undefined ? ` (${c.latencyMs} ms)` : ''}`);
  lines.push(`BGP sessions (local AS ${d.localAs}, router id ${d.routerId}):`);
  for (const s of d.sessions) {
    const timers = s.holdTime !== undefined ? `, hold ${s.holdTime}s keepalive ${(s.keepaliveMs ?? 0) / 1000}s` : '';
    lines.push(`  ${s.name} ${s.peer} AS${s.peerAs}: ${s.state} since ${ago(d.now, s.since)}${timers}, announced ${s.announced.length ? s.announced.join(' ') : 'nothing'}${s.lastError ? `; last error: ${s.lastError}` : ''}`);
  }
  if (d.history.length > 0) {
    lines.push('history:');
    for (const e of d.history.slice(-15)) lines.push(`  ${new Date(e.at).toISOString()} ${e.event.padEnd(15)} ${e.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
