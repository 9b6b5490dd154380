// The Node.js process metrics every component exposes (prom-client's
// defaults), minus the three gauges named "_total": Prometheus reserves the
// suffix for counters and `promtool check metrics` refuses them. Each is the
// sum of a per-type gauge that stays (nodejs_active_handles{type}, ...).
import { collectDefaultMetrics, type Registry } from 'prom-client';

const MISNAMED = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
