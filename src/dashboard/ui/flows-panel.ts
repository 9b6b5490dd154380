// Live flows, as `entente flows -f` shows them: the newest calls of this
// region and its peers, each with its verdict and the policy rule (or the
// reason) behind it, filtered on the controller by caller, service, verdict
// and region. Pausing freezes the table while you read it.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { flowsPath, type FlowFilters, type FlowView, type FlowsView } from './api.js';
import { usePoll } from './poll.js';
import { account, clock, ms } from '../model/format.js';

const LIMIT = 150;

function ruleOf(f: FlowView): string {
  if (f.policy !== undefined) return `${f.policy}${f.rule !== undefined ? `#${f.rule}` : ''}`;
  return f.reason ?? '';
}

function request(f: FlowView): string {
  if (f.method) return `${f.method} ${f.path ?? ''}`;
  return f.port !== undefined ? `tcp :${f.port}` : 'tcp';
}

export function FlowsPanel({ regions }: { regions: readonly string[] }) {
  const [filters, setFilters] = useState<FlowFilters>({ from: '', to: '', verdict: '', region: '' });
  const [applied, setApplied] = useState<FlowFilters>(filters);
  const [paused, setPaused] = useState(false);
  const [frozen, setFrozen] = useState<FlowsView | undefined>(undefined);
  const polled = usePoll<FlowsView>(flowsPath(applied, LIMIT), 2000, [applied.from, applied.to, applied.verdict, applied.region]);
  const view = paused ? frozen : polled.data;
  const unreachable = (view?.regions ?? []).filter((r) => !r.ok);
  const set = (k: keyof FlowFilters) => (ev: Event) => setFilters({ ...filters, [k]: (ev.target as HTMLInputElement).value });
  const submit = (ev: Event) => {
    ev.preventDefault();
    setApplied(filters);
  };
  return html`<section class="card wide" data-testid="flows">
    <h2>Live flows <span class="dim">${paused ? 'paused' : 'every 2 s'} · newest ${LIMIT}</span></h2>
    <form class="filters" onSubmit=${submit} data-testid="flow-filters">
      <label>From <input name="from" placeholder="shop/frontend or a SPIFFE ID" value=${filters.from} onInput=${set('from')} /></label>
      <label>To <input name="to" placeholder="shop/catalog" value=${filters.to} onInput=${set('to')} /></label>
      <label>Verdict
        <select name="verdict" value=${filters.verdict} onChange=${(ev: Event) => {
          const next = { ...filters, verdict: (ev.target as HTMLSelectElement).value as FlowFilters['verdict'] };
          setFilters(next);
          setApplied(next);
        }}>
          <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option><option value="error">error</option>
        </select>
      </label>
      <label>Region
        <select name="region" value=${filters.region} onChange=${(ev: Event) => {
          const next = { ...filters, region: (ev.target as HTMLSelectElement).value };
          setFilters(next);
          setApplied(next);
        }}>
          <option value="">any</option>${regions.map((r) => html`<option value=${r}>${r}</option>`)}
        </select>
      </label>
      <button type="submit">Apply</button>
      <button type="button" class="secondary" data-testid="pause" onClick=${() => {
        setFrozen(polled.data);
        setPaused(!paused);
      }}>${paused ? 'Resume' : 'Pause'}</button>
    </form>
    ${polled.error ? html`<div class="banner bad">flows: ${polled.error}</div>` : null}
    ${unreachable.length > 0 ? html`<div class="banner warn" data-testid="flows-unreachable">Flows of ${unreachable.map((r) => r.region).join(', ')} could not be read: ${unreachable.map((r) => r.error).join('; ')}</div>` : null}
    <div class="table-wrap">
      <table class="flows">
        <thead><tr><th>Time</th><th>Verdict</th><th>From</th><th>To</th><th>Request</th><th class="num">Status</th><th class="num">Latency</th><th>Rule or reason</th><th>Seen by</th></tr></thead>
        <tbody>
          ${(view?.flows ?? []).map((f) => html`<tr data-testid="flow-row" data-verdict=${f.verdict} class=${`v-${f.verdict}`}>
            <td class="dim mono">${clock(f.time)}</td>
            <td><span class=${`verdict ${f.verdict}`}>${f.verdict}</span></td>
            <td>${account(f.source) === 'unknown' && f.sourceAddress ? f.sourceAddress : account(f.source)} <span class="tag">${f.sourceRegion ?? '?'}</span></td>
            <td>${f.service ?? '–'} <span class="tag">${f.destinationRegion ?? '?'}</span></td>
            <td class="mono">${request(f)}</td>
            <td class="num">${f.status ?? '–'}</td>
            <td class="num">${ms(f.durationMs)}</td>
            <td data-testid="flow-rule" class=${f.verdict === 'allow' ? 'dim' : ''} title=${f.reason ?? ''}>${ruleOf(f)}</td>
            <td class="dim">${f.node} (${f.direction === 'outbound' ? 'caller' : 'callee'})</td>
          </tr>`)}
          ${view && view.flows.length === 0 ? html`<tr><td colspan="9" class="empty">No flows match.</td></tr>` : null}
        </tbody>
      </table>
    </div>
  </section>`;
}
