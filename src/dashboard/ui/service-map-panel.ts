// The service map: services in a column per region, an edge per route with
// its request rate, coloured by how it does (ok, slow, failing, denied), and
// the table of routes against their SLOs. Over the last minute of the
// callers' flow records, this region's and its peers'.
import { html } from 'htm/preact';
import type { EdgeView, ServiceMapView } from './api.js';
import type { Polled } from './poll.js';
import { ms, objective, percent, rate } from '../model/format.js';

type EdgeClass = 'ok' | 'slow' | 'failing' | 'denied';

export function edgeClass(e: EdgeView): EdgeClass {
  if (e.denied === e.requests) return 'denied';
  if (!e.slo.availabilityMet) return 'failing';
  if (!e.slo.latencyMet) return 'slow';
  return 'ok';
}

const COL_W = 250;
const ROW_H = 58;
const TOP = 44;
const NODE_W = 124;

export function ServiceMapPanel({ map }: { map: Polled<ServiceMapView> }) {
  const m = map.data;
  const regions = m ? [m.region, ...[...new Set(m.services.map((s) => s.region))].filter((r) => r !== m.region).sort()] : [];
  const pos = new Map<string, { x: number; y: number }>();
  regions.forEach((r, c) => {
    m!.services.filter((s) => s.region === r).forEach((s, i) => pos.set(`${s.name}|${r}`, { x: 20 + c * COL_W + (COL_W - 40) / 2, y: TOP + 24 + i * ROW_H }));
  });
  const rows = Math.max(1, ...regions.map((r) => m!.services.filter((s) => s.region === r).length));
  const width = Math.max(COL_W, regions.length * COL_W);
  const height = TOP + rows * ROW_H + 10;
  return html`<section class="card wide" data-testid="service-map">
    <h2>Service map <span class="dim">last ${m ? Math.round(m.windowMs / 1000) : 60} s · ${m?.flows ?? 0} calls</span></h2>
    ${map.error ? html`<div class="banner bad">service map: ${map.error}</div>` : null}
    ${m && m.edges.length === 0 ? html`<p class="empty">No calls in the last minute.</p>` : null}
    <svg viewBox=${`0 0 ${width} ${height}`} width=${Math.round(width * 1.3)} class="service-graph" role="img" aria-label="service map">
      <defs>
        ${(['ok', 'slow', 'failing', 'denied'] as const).map((k) => html`<marker id=${`arrow-${k}`} viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class=${`arrowhead ${k}`} /></marker>`)}
      </defs>
      ${regions.map((r, c) => html`<g class="column"><rect x=${20 + c * COL_W} y="8" width=${COL_W - 40} height=${height - 16} rx="10" /><text x=${20 + c * COL_W + (COL_W - 40) / 2} y="30" class="column-label">${r}</text></g>`)}
      ${(m?.edges ?? []).map((e) => {
        const a = pos.get(`${e.source}|${e.sourceRegion}`);
        const b = pos.get(`${e.destination}|${e.destinationRegion}`);
        if (!a || !b) return null;
        const k = edgeClass(e);
        // Within a column the edge bows out to the left; across columns it runs from right side to left side.
        const d = a.x === b.x ? `M ${a.x - NODE_W / 2} ${a.y} C ${a.x - NODE_W} ${a.y}, ${b.x - NODE_W} ${b.y}, ${b.x - NODE_W / 2 - 3} ${b.y}` : a.x < b.x ? `M ${a.x + NODE_W / 2} ${a.y} C ${(a.x + b.x) / 2} ${a.y}, ${(a.x + b.x) / 2} ${b.y}, ${b.x - NODE_W / 2 - 3} ${b.y}` : `M ${a.x - NODE_W / 2} ${a.y} C ${(a.x + b.x) / 2} ${a.y}, ${(a.x + b.x) / 2} ${b.y}, ${b.x + NODE_W / 2 + 3} ${b.y}`;
        return html`<g class=${`edge ${k}`} data-testid="map-edge" data-edge=${`${e.source}@${e.sourceRegion}->${e.destination}@${e.destinationRegion}`} data-class=${k}>
          <title>${`${e.source} (${e.sourceRegion}) → ${e.destination} (${e.destinationRegion}): ${rate(e.rate)}, ${percent(e.errorRatio)} errors, ${e.denied} denied, p99 ${ms(e.p99Ms)}`}</title>
          <path d=${d} style=${`stroke-width:${(1 + 0.6 * Math.log2(1 + e.rate)).toFixed(1)}px`} marker-end=${`url(#arrow-${k})`} />
        </g>`;
      })}
      ${[...pos].map(([key, p]) => {
        const [name, region] = key.split('|') as [string, string];
        const into = (m?.edges ?? []).filter((e) => e.destination === name && e.destinationRegion === region);
        const out = (m?.edges ?? []).filter((e) => e.source === name && e.sourceRegion === region);
        const inRate = into.filter((e) => e.denied < e.requests).reduce((t, e) => t + e.rate, 0);
        const outRate = out.reduce((t, e) => t + e.rate, 0);
        const failing = into.some((e) => edgeClass(e) === 'failing');
        return html`<g class=${`service-node ${failing ? 'failing' : ''}`} data-testid="map-service" data-service=${`${name}@${region}`}>
          <title>${`${name} in ${region}: ${rate(inRate)} in, ${rate(outRate)} out`}</title>
          <rect x=${p.x - NODE_W / 2} y=${p.y - 19} width=${NODE_W} height="38" rx="10" />
          <text x=${p.x} y=${p.y - 2} class="service-name">${name.replace(/^[^/]+\//, '')}</text>
          <text x=${p.x} y=${p.y + 12} class="service-sub">${inRate > 0 ? `${rate(inRate)} in` : ''}${inRate > 0 && outRate > 0 ? ' · ' : ''}${outRate > 0 ? `${rate(outRate)} out` : ''}</text>
        </g>`;
      })}
    </svg>
    <div class="legend">${(['ok', 'slow', 'failing', 'denied'] as const).map((k) => html`<span class=${`key edge-${k}`}><i></i>${k === 'ok' ? 'within SLO' : k === 'slow' ? 'p99 over SLO' : k === 'failing' ? 'errors over SLO' : 'denied by policy'}</span>`)}</div>
  </section>`;
}

export function SloPanel({ map }: { map: ServiceMapView | undefined }) {
  const edges = (map?.edges ?? []).filter((e) => e.denied < e.requests);
  return html`<section class="card wide" data-testid="slo">
    <h2>Routes and SLOs <span class="dim">availability = calls policy let through that did not fail</span></h2>
    <table class="routes">
      <thead><tr><th>Route</th><th>Regions</th><th class="num">Rate</th><th class="num">Errors</th><th class="num">p50</th><th class="num">p99</th><th>Objective</th><th>SLO</th></tr></thead>
      <tbody>
        ${edges.map((e) => {
          const met = e.slo.availabilityMet && e.slo.latencyMet;
          return html`<tr data-testid="slo-row" data-route=${`${e.source}->${e.destination}`} data-met=${met ? 'yes' : 'no'}>
            <td>${e.source} → ${e.destination}</td>
            <td>${e.sourceRegion === e.destinationRegion ? e.sourceRegion : `${e.sourceRegion} → ${e.destinationRegion}`}</td>
            <td class="num">${rate(e.rate)}</td>
            <td class=${`num ${e.slo.availabilityMet ? '' : 'bad'}`}>${percent(e.errorRatio)}</td>
            <td class="num">${ms(e.p50Ms)}</td>
            <td class=${`num ${e.slo.latencyMet ? '' : 'warn'}`}>${ms(e.p99Ms)}</td>
            <td class="dim">${objective(e.slo.availability)} ok, p99 ≤ ${ms(e.slo.latencyP99Ms)}</td>
            <td><span class=${`pill ${met ? 'ok' : 'bad'}`}>${met ? 'met' : 'breached'}</span></td>
          </tr>`;
        })}
        ${edges.length === 0 ? html`<tr><td colspan="8" class="empty">No allowed calls in the last minute.</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}
