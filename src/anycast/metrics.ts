// Prometheus metrics of the announcer, on a registry passed in (no globals).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class AnycastMetrics {
  readonly announced: Gauge;
  readonly healthy: Gauge;
  readonly sessionEstablished: Gauge<'peer'>;
  readonly transitions: Counter<'to'>;
  readonly checks: Counter<'check' | 'result'>;
  readonly checkDuration: Histogram<'check'>;
  readonly penalty: Gauge;
  readonly sessionDowns: Counter<'peer'>;

  constructor(readonly registry: Registry = new Registry()) {
    const r = [registry];
    this.announced = new Gauge({ name: 'entente_anycast_announced', help: '1 while the anycast prefixes are announced (2 while draining), 0 when withdrawn', registers: r });
    this.healthy = new Gauge({ name: 'entente_anycast_healthy', help: '1 when health checks pass after hysteresis', registers: r });
    this.sessionEstablished = new Gauge({ name: 'entente_anycast_bgp_session_established', help: '1 when the BGP session to the peer is Established', labelNames: ['peer'], registers: r });
    this.sessionDowns = new Counter({ name: 'entente_anycast_bgp_session_down_total', help: 'BGP sessions going down', labelNames: ['peer'], registers: r });
    this.transitions = new Counter({ name: 'entente_anycast_transitions_total', help: 'Announcement changes by new state', labelNames: ['to'], registers: r });
    this.checks = new Counter({ name: 'entente_anycast_health_checks_total', help: 'Health check runs by result', labelNames: ['check', 'result'], registers: r });
    this.checkDuration = new Histogram({
      name: 'entente_anycast_health_check_duration_seconds',
      help: 'Duration of each health check run',
      labelNames: ['check'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.penalty = new Gauge({ name: 'entente_anycast_flap_penalty', help: 'RFC 2439 penalty an upstream damping router would hold for our prefixes', registers: r });
  }
}
