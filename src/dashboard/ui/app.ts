// The Entente dashboard: one page served by a controller's admin listener,
// reading only that controller's admin API (which asks its peers). Polls;
// each panel says how fresh its data is, and the page says when the
// controller stops answering instead of showing stale numbers as current.
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { DriftView, ServiceMapView, StatusView } from './api.js';
import { usePoll, type Polled } from './poll.js';
import { RegionsPanel } from './regions-panel.js';
import { ServiceMapPanel, SloPanel } from './service-map-panel.js';
import { FlowsPanel } from './flows-panel.js';
import { HealthPanel } from './health-panel.js';
import { DataPanel } from './data-panel.js';
import { ago } from '../model/format.js';

/** Re-renders every second, for "updated 3 s ago". */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return now;
}

function Header({ status, now }: { status: Polled<StatusView>; now: number }) {
  const s = status.data;
  const healthy = s?.health?.healthy;
  return html`<header class="top">
    <div class="brand"><span class="logo" aria-hidden="true">◆</span> Entente</div>
    <div class="region-name" data-testid="this-region">region <strong>${s?.region ?? '…'}</strong></div>
    <span class=${`pill ${healthy ? 'ok' : healthy === false ? 'bad' : ''}`} data-testid="region-health">${healthy ? 'healthy' : healthy === false ? 'not healthy' : '…'}</span>
    <div class="meta">entente ${s?.version ?? '?'} · config v${s?.configVersion ?? '?'} · policy generation ${s?.policy?.generation ?? '?'}</div>
    <div class="spacer"></div>
    <div class=${`freshness ${status.error ? 'bad' : ''}`} data-testid="freshness">
      ${status.error ? `controller not answering: ${status.error}` : status.at ? `updated ${ago(now - status.at)} ago` : 'connecting…'}
    </div>
  </header>`;
}

function App() {
  const now = useNow();
  const status = usePoll<StatusView>('/v1/status', 2000);
  const drift = usePoll<DriftView>('/v1/drift', 5000);
  const map = usePoll<ServiceMapView>('/v1/servicemap?window=60', 3000);
  const stale = status.error !== undefined;
  return html`
    <${Header} status=${status} now=${now} />
    ${stale ? html`<div class="banner bad" role="alert" data-testid="stale-banner">The controller stopped answering; what you see is from ${status.at ? `${ago(now - status.at)} ago` : 'before'}.</div>` : null}
    <main class="grid">
      <${RegionsPanel} status=${status.data} map=${map.data} />
      <${HealthPanel} status=${status.data} drift=${drift.data} driftError=${drift.error} />
      <${ServiceMapPanel} map=${map} />
      <${SloPanel} map=${map.data} />
      <${DataPanel} status=${status.data} />
      <${FlowsPanel} regions=${[status.data?.region, ...(status.data?.peers ?? []).map((p) => p.region)].filter((r): r is string => r !== undefined)} />
    </main>
    <footer class="foot">Entente dashboard · data from this controller's admin API (/v1/status, /v1/drift, /v1/servicemap, /v1/flows) · docs/observability.md</footer>
  `;
}

render(html`<${App} />`, document.getElementById('app')!);
