// Assembles the announcer from its config: BGP speaker with one session per
// peer, health checks, metrics, status endpoint; and the SIGTERM path that
// withdraws before the process exits.
import { Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { type Clock, systemClock } from './clock.js';
import type { AnycastConfig } from './config.js';
import { Announcer } from './announcer.js';
import { BgpSpeaker } from './bgp/bgp-speaker.js';
import { buildHealthCheck } from './health/health-checks.js';
import { AnycastMetrics } from './metrics.js';
import { type StatusServer, startStatusServer } from './status-server.js';

export interface AnycastDaemon {
  readonly announcer: Announcer;
  readonly status: StatusServer;
  stop(reason?: string): Promise<void>;
}

export async function startAnycastDaemon(cfg: AnycastConfig, log: Logger, clock: Clock = systemClock): Promise<AnycastDaemon> {
  const metrics = new AnycastMetrics(new Registry());
  // The speaker reports to the announcer, which is built after it.
  const ref: { announcer?: Announcer } = {};
  const speaker = new BgpSpeaker(cfg.peers.map((p) => ({
    name: p.name ?? p.address,
    endpoint: { host: p.address, port: p.port, ...(p.localAddress ? { localAddress: p.localAddress } : {}) },
    fsm: {
      localAs: cfg.localAs, peerAs: p.remoteAs, bgpId: cfg.routerId, holdTime: p.holdTime,
      families: [...new Set(cfg.announce.map((a) => a.prefix.family))].sort(),
      connectTimeoutMs: p.connectTimeout, backoffMinMs: p.reconnect.min, backoffMaxMs: p.reconnect.max,
    },
  })), clock, log, (e) => ref.announcer?.onSpeakerEvent(e));
  const a = new Announcer(cfg, { clock, log, speaker, metrics, checks: cfg.health.checks.map(buildHealthCheck) });
  ref.announcer = a;
  const status = await startStatusServer(cfg.status.listen, () => ({ version: 1, localAs: cfg.localAs, routerId: cfg.routerId, now: clock.now(), ...a.status() }), metrics.registry);
  a.start();
  log.info({ status: status.url, peers: cfg.peers.length }, 'anycast announcer started');
  let stopping: Promise<void> | undefined;
  return {
    announcer: a,
    status,
    stop(reason = 'stopping') {
      stopping ??= (async () => {
        await a.stop(reason);
        await status.close();
      })();
      return stopping;
    },
  };
}
