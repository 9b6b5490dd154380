// /healthz and /readyz for the components that serve plain-HTTP operator
// ports (agent, gateway, the controller's admin API), the way Kubernetes probes and load balancers expect
// them: /healthz says the process is alive and serving its port (always 200
// while it answers), /readyz says it can do its job now (200), or why not
// (503 with the reasons), so a node that has never received a config is not
// sent traffic, and one serving from its cached config still is.

export interface Readiness {
  /** Why the component cannot do its job yet; empty when it is ready. */
  readonly notReady: readonly string[];
}

export interface HealthAnswer {
  readonly status: number;
  readonly body: { status: 'ok' | 'not ready'; reasons?: readonly string[] };
}

/** The answer for `url` when it is /healthz or /readyz (query ignored), else undefined. */
export function healthAnswer(url: string | undefined, readiness: () => Readiness): HealthAnswer | undefined {
  const path = (url ?? '').split('?')[0];
  if (path === '/healthz') return { status: 200, body: { status: 'ok' } };
  if (path !== '/readyz') return undefined;
  const { notReady } = readiness();
  return notReady.length === 0 ? { status: 200, body: { status: 'ok' } } : { status: 503, body: { status: 'not ready', reasons: notReady } };
}
