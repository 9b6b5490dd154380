// What this region's gateways report of their probes to peer regions, kept
// per gateway and summed up per peer region: reachable when any gateway
// reaches any of the region's addresses, unreachable when every reporting
// gateway fails all of them, unknown without a fresh report. Reports come from
// enrolled gateways only, and are checked whole before anything is kept.
import * as z from 'zod';
import type { LinkSummary } from '../mesh/mesh-config.js';

/** A gateway's report older than this is forgotten (it reports every 2 s; a dead one stops). */
export const LINK_REPORT_TTL_MS = 6000;
/** Most links one report may carry (regions × gateway addresses). */
export const MAX_LINKS_PER_REPORT = 4096;

const regionLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a region name (DNS label)');
export const linkReportSchema = z.object({
  links: z
    .array(
      z.object({
        region: regionLabel,
        address: z.string().max(300),
        reachable: z.boolean().optional(),
        rttMs: z.number().min(0).max(600_000).optional(),
        loss: z.number().min(0).max(1),
      }),
    )
    .max(MAX_LINKS_PER_REPORT),
});
export type LinkReport = z.infer<typeof linkReportSchema>;

export type ReportCheck = { kind: 'ok'; report: LinkReport } | { kind: 'invalid'; message: string };

export function checkLinkReport(body: unknown): ReportCheck {
  const r = linkReportSchema.safeParse(body);
  if (r.success) return { kind: 'ok', report: r.data };
  const i = r.error.issues[0]!;
  return { kind: 'invalid', message: `${i.path.join('.') || '(body)'}: expected ${i.message}` };
}

/** The loss quantum (quantize rounds to 1/20) and its hysteresis. */
const LOSS_STEP = 0.05;

/**
 * RTT rounded to 5 ms and loss to 0.05: what is published changes with the
 * path, not with its jitter (LinkReports also holds an RTT until it moves by
 * more than 10% or 5 ms). Every change is a new config for every agent and a
 * new signed state for every peer.
 */
export function quantize(l: { region: string; reachable: boolean; rttMs?: number; loss: number }): LinkSummary {
  return {
    region: l.region,
    reachable: l.reachable,
    ...(l.reachable && l.rttMs !== undefined ? { rttMs: Math.max(5, Math.round(l.rttMs / 5) * 5) } : {}),
    loss: Math.round(l.loss * 20) / 20,
  };
}

export class LinkReports {
  private readonly byGateway = new Map<string, { at: number; report: LinkReport }>();
  /** The RTT last published per region: a new one replaces it only past RTT_HYSTERESIS (jitter around a rounding edge does not flip it). */
  private readonly publishedRtt = new Map<string, number>();
  /** The loss last published per region (holdLoss). */
  private readonly publishedLoss = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps a gateway's report; says whether the region summary changed (so the controller recomputes only then). */
  put(gateway: string, report: LinkReport, regions: ReadonlySet<string>): boolean {
    const before = JSON.stringify(this.summary());
    // Links to regions that are not peers say nothing we use: not kept.
    this.byGateway.set(gateway, { at: this.now(), report: { links: report.links.filter((l) => regions.has(l.region)) } });
    return JSON.stringify(this.summary()) !== before;
  }

  /** One line per peer region some fresh report covers, by region name. */
  summary(): LinkSummary[] {
    const now = this.now();
    const per = new Map<string, { reachable: boolean; known: boolean; rttMs?: number; loss: number }>();
    for (const [gateway, r] of this.byGateway) {
      if (now - r.at > LINK_REPORT_TTL_MS) {
        this.byGateway.delete(gateway);
        continue;
      }
      for (const l of r.report.links) {
        if (l.reachable === undefined) continue;
        const s = per.get(l.region) ?? { reachable: false, known: true, loss: 1 };
        if (l.reachable) {
          s.reachable = true;
          if (l.rttMs !== undefined && (s.rttMs === undefined || l.rttMs < s.rttMs)) s.rttMs = l.rttMs;
        }
        s.loss = Math.min(s.loss, l.loss);
        per.set(l.region, s);
      }
    }
    return [...per.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([region, s]) => {
        let q = quantize({ region, reachable: s.reachable, ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}), loss: s.loss });
        q = { ...q, loss: this.holdLoss(region, q.loss) };
        if (q.rttMs === undefined) return q;
        const last = this.publishedRtt.get(region);
        if (last !== undefined && Math.abs(q.rttMs - last) <= Math.max(5, last * 0.1)) return { ...q, rttMs: last };
        this.publishedRtt.set(region, q.rttMs);
        return q;
      });
  }

  /**
   * Loss as published: a new value replaces the last one only when it moved
   * by more than one step (0.05), or reached 0 or 1, so a loss near a
   * rounding edge (2.5%, 7.5%, ...) does not flip the config every report.
   */
  private holdLoss(region: string, loss: number): number {
    const last = this.publishedLoss.get(region);
    if (last !== undefined && loss !== last && Math.abs(loss - last) <= LOSS_STEP + 1e-9 && loss !== 0 && loss !== 1) return last;
    this.publishedLoss.set(region, loss);
    return loss;
  }

  /** The raw reports, for /v1/status. */
  gateways(): { gateway: string; ageMs: number; links: LinkReport['links'] }[] {
    const now = this.now();
    return [...this.byGateway].map(([gateway, r]) => ({ gateway, ageMs: now - r.at, links: r.report.links }));
  }
}
