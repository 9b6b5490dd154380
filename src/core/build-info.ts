// What build this process is: the version every component reports (the CLI's
// `entente version`, /v1/status, the entente_build_info metric). One constant,
// checked against package.json by a test, so the two cannot drift apart.
import { Gauge, type Registry } from 'prom-client';

export const ENTENTE_VERSION = '0.1.0';

/**
 * entente_build_info{version,nodejs} 1, the Prometheus convention for joining
 * a version onto other series; region and component come from the registry's
 * default labels, as on every other series of the component.
 */
export function registerBuildInfo(registry: Registry): void {
  const g = new Gauge({ name: 'entente_build_info', help: 'Always 1; its labels say which build of Entente this component runs', labelNames: ['version', 'nodejs'], registers: [registry] });
  g.set({ version: ENTENTE_VERSION, nodejs: process.versions.node }, 1);
}
