// Numbers as an operator reads them: durations, rates, ratios, ages. Pure.
import { workloadAccount } from '../../identity/workload-account.js';

export function ms(v: number): string {
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 100) return `${v.toFixed(1)} ms`;
  if (v < 10_000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(1)} s`;
}

export function ago(msAgo: number): string {
  if (msAgo < 0) return 'now';
  if (msAgo < 120_000) return `${Math.round(msAgo / 1000)} s`;
  if (msAgo < 7_200_000) return `${Math.round(msAgo / 60_000)} min`;
  if (msAgo < 172_800_000) return `${Math.round(msAgo / 3_600_000)} h`;
  return `${Math.round(msAgo / 86_400_000)} days`;
}

export function rate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.1) return `${(perSecond * 60).toFixed(1)}/min`;
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${Math.round(perSecond)}/s`;
}

export function percent(ratio: number): string {
  if (ratio === 0) return '0%';
  if (ratio < 0.001) return '<0.1%';
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** "shop/frontend" from a SPIFFE ID of the /ns/X/sa/Y form; the ID itself otherwise. */
export function account(spiffeId: string | undefined): string {
  if (!spiffeId) return 'unknown';
  return workloadAccount(spiffeId) ?? spiffeId;
}

/** An objective as written: 0.99 → "99%", 0.999 → "99.9%". */
export function objective(share: number): string {
  return `${parseFloat((share * 100).toFixed(3))}%`;
}
