// Reads the region's anycast announcers' status endpoints so that the region
// state published to the federation says whether the region's public address
// is announced (the announcer stays a separate process next to the routers).
import { httpJson } from '../core/http-get-json.js';
import type { AnycastSummary } from '../mesh/mesh-config.js';

/** The part of the announcer's GET /status document the controller carries (src/anycast/status-server.ts). */
export interface AnnouncerStatusDocument {
  readonly announcement?: { state?: string; since?: number; reason?: string; prefixes?: readonly string[] };
  readonly sessions?: readonly { state?: string }[];
}

/** Pure: one announcer's status document (or its absence) as a summary. */
export function summarizeAnnouncer(statusUrl: string, doc: AnnouncerStatusDocument | undefined): AnycastSummary {
  if (!doc) return { statusUrl, reachable: false, state: 'unknown', reason: 'status endpoint unreachable', prefixes: [], sessionsEstablished: 0, sessionsTotal: 0, since: undefined };
  const a = doc.announcement ?? {};
  const sessions = doc.sessions ?? [];
  return {
    statusUrl,
    reachable: true,
    state: a.state ?? 'unknown',
    reason: a.reason ?? '',
    prefixes: [...(a.prefixes ?? [])],
    sessionsEstablished: sessions.filter((s) => s.state === 'Established').length,
    sessionsTotal: sessions.length,
    since: typeof a.since === 'number' ? new Date(a.since).toISOString() : undefined,
  };
}

export class AnycastWatch {
  private summaries: AnycastSummary[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly urls: readonly string[],
    private readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {
    this.summaries = urls.map((u) => summarizeAnnouncer(u, undefined));
  }

  current(): readonly AnycastSummary[] {
    return this.summaries;
  }

  start(): void {
    if (this.urls.length === 0) return;
    const poll = async (): Promise<void> => {
      const next = await Promise.all(
        this.urls.map(async (u) => {
          try {
            const r = await httpJson<AnnouncerStatusDocument>(u, { timeoutMs: Math.max(500, this.intervalMs) });
            return summarizeAnnouncer(u, r.status === 200 ? r.body : undefined);
          } catch {
            return summarizeAnnouncer(u, undefined);
          }
        }),
      );
      if (JSON.stringify(next) !== JSON.stringify(this.summaries)) {
        this.summaries = next;
        this.onChange();
      }
      this.timer = setTimeout(() => void poll(), this.intervalMs);
      this.timer.unref();
    };
    void poll();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
