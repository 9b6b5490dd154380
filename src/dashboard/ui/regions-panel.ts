// Regions and the links between them, as this region sees them: a node per
// region, an edge to each peer coloured by its state (up, degraded, relayed,
// partitioned) with the gateways' measured RTT, and a row per peer below.
import { html } from 'htm/preact';
import type { ServiceMapView, StatusView } from './api.js';
import { linkState, type LinkState } from '../model/link-state.js';
import { ago, ms } from '../model/format.js';

const W = 560;
const H = 260;

const LABEL: Record<LinkState, string> = { up: 'up', degraded: 'degraded', relayed: 'relayed', partitioned: 'partitioned' };

export function RegionsPanel({ status, map }: { status: StatusView | undefined; map: ServiceMapView | undefined }) {
  const peers = status?.peers ?? [];
  const self = { x: 120, y: H / 2 };
  const spots = peers.map((_, i) => ({ x: W - 110, y: peers.length === 1 ? H / 2 : 50 + (i * (H - 100)) / (peers.length - 1) }));
  const nodes = status?.nodes ?? [];
  const agents = nodes.filter((n) => n.kind === 'agent');
  const gateways = nodes.filter((n) => n.kind === 'gateway');
  const flowsFrom = new Map((map?.regions ?? []).map((r) => [r.region, r]));
  return html`<section class="card regions" data-testid="regions">
    <h2>Regions and links</h2>
    <svg viewBox=${`0 0 ${W} ${H}`} class="region-graph" role="img" aria-label="regions and links">
      ${peers.map((p, i) => {
        const s = linkState(p);
        const to = spots[i]!;
        const mid = { x: (self.x + to.x) / 2, y: (self.y + to.y) / 2 };
        return html`<g class=${`link ${s.state}`} data-testid=${`link-${p.region}`} data-state=${s.state}>
          <title>${`${status?.region} → ${p.region}: ${LABEL[s.state]} (${s.why})`}</title>
          <line x1=${self.x} y1=${self.y} x2=${to.x} y2=${to.y} />
          <text x=${mid.x} y=${mid.y - 8} class="link-label">${p.link?.rttMs !== undefined && s.state !== 'partitioned' ? ms(p.link.rttMs) : LABEL[s.state]}</text>
          ${s.state === 'relayed' ? html`<text x=${mid.x} y=${mid.y + 16} class="link-label sub">via ${(p.relays ?? []).map((r) => r.via).join(', ')}</text>` : null}
        </g>`;
      })}
      <g class="region-node self" data-testid=${`region-${status?.region ?? ''}`}>
        <circle cx=${self.x} cy=${self.y} r="44" />
        <text x=${self.x} y=${self.y - 4} class="region-label">${status?.region ?? '…'}</text>
        <text x=${self.x} y=${self.y + 14} class="region-sub">this region</text>
      </g>
      ${peers.map((p, i) => {
        const s = linkState(p);
        const at = spots[i]!;
        return html`<g class=${`region-node peer ${s.state}`} data-testid=${`region-${p.region}`}>
          <circle cx=${at.x} cy=${at.y} r="38" />
          <text x=${at.x} y=${at.y - 4} class="region-label">${p.region}</text>
          <text x=${at.x} y=${at.y + 14} class="region-sub">${p.expired ? 'expired' : p.stale ? 'stale' : 'fresh'}</text>
        </g>`;
      })}
    </svg>
    <div class="legend">
      ${(['up', 'degraded', 'relayed', 'partitioned'] as const).map((k) => html`<span class=${`key ${k}`}><i></i>${LABEL[k]}</span>`)}
    </div>
    <table class="peers">
      <thead><tr><th>Region</th><th>Link</th><th>RTT</th><th>Loss</th><th>State</th><th>Age</th><th>Flows</th></tr></thead>
      <tbody>
        <tr data-testid=${`peer-row-${status?.region ?? ''}`}>
          <td><strong>${status?.region ?? '…'}</strong></td>
          <td colspan="3">agents ${agents.filter((a) => a.connected).length}/${agents.length} · gateways ${gateways.filter((g) => g.connected).length}/${gateways.length} connected</td>
          <td>local</td><td>–</td><td>${flowsFrom.get(status?.region ?? '')?.ok === false ? 'unreadable' : 'read'}</td>
        </tr>
        ${peers.map((p) => {
          const s = linkState(p);
          const f = flowsFrom.get(p.region);
          return html`<tr data-testid=${`peer-row-${p.region}`}>
            <td><strong>${p.region}</strong></td>
            <td><span class=${`dot ${s.state}`}></span>${LABEL[s.state]}<div class="why">${s.why}${p.lastError && !p.reachable ? ` · ${p.lastError}` : ''}</div></td>
            <td>${p.link?.rttMs !== undefined ? ms(p.link.rttMs) : '–'}</td>
            <td>${p.link?.loss !== undefined ? `${Math.round(p.link.loss * 100)}%` : '–'}</td>
            <td class=${p.expired ? 'bad' : p.stale ? 'warn' : ''}>${p.expired ? 'expired' : p.stale ? 'stale' : 'fresh'}</td>
            <td>${p.ageMs !== undefined ? ago(p.ageMs) : '–'}</td>
            <td class=${f?.ok === false ? 'bad' : ''}>${f === undefined ? '–' : f.ok ? 'read' : 'unreachable'}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}
