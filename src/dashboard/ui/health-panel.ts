// The region's health at a glance: policy in force, drift between regions,
// and when certificates and peers' bundles run out.
import { html } from 'htm/preact';
import type { DriftView, StatusView } from './api.js';
import { ago } from '../model/format.js';

const DAY = 86_400_000;

export function HealthPanel({ status, drift, driftError }: { status: StatusView | undefined; drift: DriftView | undefined; driftError: string | undefined }) {
  const expiry = [...(status?.expiry ?? [])].sort((a, b) => a.expiresInMs - b.expiresInMs);
  const policy = status?.policy;
  const differing = drift?.differing ?? [];
  return html`<section class="card health" data-testid="health">
    <h2>Policy, drift and expiry</h2>
    <dl class="facts">
      <dt>Policy</dt>
      <dd class=${policy?.ok === false ? 'warn' : ''}>${policy === undefined ? '…' : policy.ok === false ? `serving the last good set: ${policy.summary ?? ''}` : `generation ${policy.generation ?? '?'} from ${policy.source ?? '?'}`}</dd>
      <dt>Drift</dt>
      <dd data-testid="drift" data-drift=${drift?.drift ? 'yes' : 'no'} class=${drift?.drift ? 'warn' : ''}>
        ${driftError ? `unknown (${driftError})` : drift === undefined ? '…' : drift.drift ? `${differing.length} resource${differing.length === 1 ? '' : 's'} differ` : 'none: every region holds the same policy'}
        ${drift?.unknown?.length ? html`<div class="why">not known for ${drift.unknown.join(', ')}</div>` : null}
      </dd>
    </dl>
    ${differing.length > 0
      ? html`<ul class="drift-list">${differing.slice(0, 8).map((d) => html`<li><code>${d.resource ?? '?'}</code> ${Object.entries(d.regions ?? {}).map(([r, v]) => html`<span class="tag">${r}: ${v ? v.slice(0, 8) : 'absent'}</span>`)}</li>`)}</ul>`
      : null}
    <h3>Certificates and bundles</h3>
    <table class="expiry">
      <tbody>
        ${expiry.map((e) => {
          const cls = e.expiresInMs <= 0 ? 'bad' : e.expiresInMs < Math.min(DAY, (e.lifetimeMs ?? 4 * DAY) / 4) ? 'warn' : '';
          return html`<tr data-testid="expiry-row" class=${cls}>
            <td>${e.subject}</td>
            <td>${e.expiresInMs <= 0 ? 'expired' : `in ${ago(e.expiresInMs)}`}</td>
            <td class="dim">${e.notAfter.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}
