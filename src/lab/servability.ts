// Which demo routes a drill expects to keep working while its fault lasts.
// Pure: a fault state (which components run, which links are cut) against the
// topology. docs/operations.md "Lab drills" states the model.
import type { LabTopology, LabRoute } from './lab-topology.js';

export interface FaultState {
  /** Components that run (supervisor names: "eu-gateway", "eu-node-1-agent", "app-frontend-1"). */
  readonly alive: ReadonlySet<string>;
  /** Directed links that are cut, "from->to". */
  readonly cut: ReadonlySet<string>;
}

/** Every component of the topology, running, nothing cut. */
export function healthyState(topo: LabTopology): FaultState {
  const alive = new Set<string>();
  for (const r of topo.regions) {
    alive.add(`${r.name}-controller`);
    alive.add(`${r.name}-gateway`);
    for (const a of r.agents) alive.add(`${a.node}-agent`);
  }
  for (const w of topo.workloads) alive.add(`app-${w.name}`);
  return { alive, cut: new Set() };
}

/**
 * A route S -> service is servable when its caller (app and agent) runs and
 * some replica region R runs the replica (app and agent) and its gateway, and
 * R == S, or S -> R is not cut, or some relay B (not S or R, gateway alive)
 * has S -> B and B -> R not cut: one relay hop only.
 */
export function servable(topo: LabTopology, route: LabRoute, state: FaultState): boolean {
  const caller = topo.workloads.find((w) => w.region === route.from.region && w.service === route.from.service && w.name.endsWith('-1'));
  if (!caller || !state.alive.has(`app-${caller.name}`) || !state.alive.has(`${caller.node}-agent`)) return false;
  const s = route.from.region;
  const up = (a: string, b: string): boolean => !state.cut.has(`${a}->${b}`);
  return topo.workloads
    .filter((w) => w.service === route.to.service && state.alive.has(`app-${w.name}`) && state.alive.has(`${w.node}-agent`))
    .some((w) => {
      const r = w.region;
      if (r === s) return true;
      if (!state.alive.has(`${r}-gateway`)) return false;
      if (up(s, r)) return true;
      return topo.regions.some((b) => b.name !== s && b.name !== r && state.alive.has(`${b.name}-gateway`) && up(s, b.name) && up(b.name, r));
    });
}
