// Data services (DataRoutes, docs/data-routing.md): for each, where writes
// and reads from this region go and why, and a row per member, in any
// region, with its role, lag against the bound and probe error. From
// /v1/status `data`, as this region's controller decides it.
import { html } from 'htm/preact';
import type { DataRouteStatus, StatusView } from './api.js';

function lag(m: DataRouteStatus['members'][number]): string {
  if (m.role !== 'replica') return '–';
  if (m.lagSeconds === null || m.lagSeconds === undefined) return 'unknown';
  return `${m.lagSeconds < 10 ? m.lagSeconds.toFixed(2) : Math.round(m.lagSeconds)} s`;
}

function state(m: DataRouteStatus['members'][number]): { text: string; cls: string } {
  if (m.role === 'unreachable') return { text: 'cannot be probed', cls: 'bad' };
  if (m.role === 'unknown') return { text: 'not probed yet', cls: '' };
  if (m.role === 'primary') return { text: m.withinBound ? 'takes writes' : 'probe stale', cls: m.withinBound ? 'ok' : 'bad' };
  return m.withinBound ? { text: 'serves reads', cls: 'ok' } : { text: m.paused ? 'over the bound (replay paused)' : 'over the bound', cls: 'warn' };
}

export function DataPanel({ status }: { status: StatusView | undefined }) {
  const routes = status?.data ?? [];
  if (status !== undefined && routes.length === 0) return null;
  return html`<section class="card wide data" data-testid="data-services">
    <h2>Data services</h2>
    ${routes.length === 0 ? html`<p class="dim">…</p>` : null}
    ${routes.map(
      (r) => html`<div class="data-route" data-testid="data-route" data-route=${r.route} data-primary=${r.primary ?? ''}>
        <h3>${r.route} <span class="tag">max lag ${r.maxLagMs / 1000} s</span></h3>
        <dl class="facts">
          <dt>Writes</dt>
          <dd class=${r.writes.order.length === 0 ? 'bad' : ''}><span data-testid="data-writes">${r.writes.order[0] ?? 'refused'}</span><div class="why">${r.writes.why}</div></dd>
          <dt>Reads</dt>
          <dd><span data-testid="data-reads">${r.reads.order.join(' → ') || 'none'}</span><div class="why">${r.reads.why}</div></dd>
        </dl>
        <table class="data-members">
          <thead><tr><th>member</th><th>region</th><th>role</th><th>lag</th><th>position</th><th></th></tr></thead>
          <tbody>
            ${r.members.map((m) => {
              const s = state(m);
              return html`<tr data-testid="data-member" data-member=${m.member} data-role=${m.role} data-within=${m.withinBound ? 'yes' : 'no'} class=${s.cls}>
                <td>${m.member}</td>
                <td>${m.region ?? ''}</td>
                <td>${m.role}</td>
                <td>${lag(m)}</td>
                <td class="dim">${m.position ?? ''}</td>
                <td><span class=${`pill ${s.cls}`}>${s.text}</span>${m.error ? html`<div class="why">${m.error.code}: ${m.error.message}</div>` : null}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`,
    )}
  </section>`;
}
