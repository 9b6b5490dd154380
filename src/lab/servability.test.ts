// servability: which demo routes each named drill's fault leaves servable (the demo's replicas, one relay hop), as a table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology } from './lab-topology.js';
import { healthyState, servable } from './servability.js';
import { applyToState, duplicateRule } from './drill-runner.js';
import { namedDrill, DRILLS } from './scenario.js';
import { policiesYaml } from './lab-resources.js';

const topo = buildTopology({ regions: ['eu', 'us', 'ap'], ipPrefix: '127.61', rttMs: {}, jitterMs: 0, rate: 1 });
const regionComponents = (region: string): string[] => {
  const r = topo.regions.find((x) => x.name === region)!;
  return [`${region}-controller`, `${region}-gateway`, ...r.agents.map((a) => `${a.node}-agent`), ...topo.workloads.filter((w) => w.region === region).map((w) => `app-${w.name}`)];
};

/** Allowed routes not servable during each named drill's fault. */
const unservable: Record<string, string[]> = {
  partition: [],
  asymmetric: [],
  'region-outage': ['shipping->catalog', 'frontend->shipping'],
  'controller-outage': [],
  'gateway-outage': ['frontend->shipping'],
  'wan-degradation': [],
  'policy-drift': [],
  // The store drills kill no component: every demo route stays servable.
  'replica-lag': [],
  promote: [],
};

describe('servability of the demo routes', () => {
  it('the demo has second replicas and frontend->shipping', () => {
    assert.deepEqual(topo.workloads.filter((w) => w.name.endsWith('-2')).map((w) => `${w.service}@${w.region}`), ['payments@us', 'catalog@ap', 'ledger@ap', 'reviews@ap']);
    assert.ok(topo.routes.some((r) => r.id === 'frontend->shipping' && r.expect === 'allow'));
    assert.match(policiesYaml(topo), /shipping-quotes/);
  });

  for (const name of Object.keys(DRILLS)) {
    it(name, () => {
      const s = namedDrill(name);
      const during = applyToState({ regionComponents }, healthyState(topo), s.steps[0]!);
      const got = topo.routes.filter((r) => r.expect === 'allow' && !servable(topo, r, during)).map((r) => r.id);
      assert.deepEqual(got, unservable[name]);
      const healed = applyToState({ regionComponents }, during, s.steps[s.steps.length - 1]!);
      assert.ok(topo.routes.every((r) => servable(topo, r, healed)), 'every route servable after the heal');
    });
  }

  it('relay is one hop only: cut eu->ap and us->ap, frontend->shipping is lost', () => {
    const st = { ...healthyState(topo), cut: new Set(['eu->ap', 'us->ap']) };
    assert.equal(servable(topo, topo.routes.find((r) => r.id === 'frontend->shipping')!, st), false);
    const alive = new Set(healthyState(topo).alive);
    alive.delete('us-gateway');
    const relay = { alive, cut: new Set(['eu->ap']) };
    assert.equal(servable(topo, topo.routes.find((r) => r.id === 'frontend->shipping')!, relay), false, 'the relay needs its gateway');
  });

  it('policy-drift duplicates a rule of catalog-readers only', () => {
    const before = policiesYaml(topo);
    const after = duplicateRule(before);
    assert.notEqual(after, before);
    assert.equal(after.split('principals').length, before.split('principals').length + 1);
  });
});
