// ConfigIntake: validate -> build -> swap -> persist, in that order; a config
// refused at any step leaves the last good one in force and on disk.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { silentLogger } from '../core/log.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import { ConfigIntake, type BuildDecision } from './config-intake.js';

const config = (version: number, nodes: Record<string, string> = { 'node-a': '10.0.0.1:15008' }): MeshConfig => ({
  version, region: 'eu', trustDomain: 'eu.example', bundles: {}, services: [], workloads: [], nodes, remoteRegions: [], authorizationPolicies: [], policyDigest: '',
});

function harness(build: (c: MeshConfig) => BuildDecision<number> = (c) => ({ kind: 'ok', value: c.version }), swapFails = false) {
  const steps: string[] = [];
  const registry = new Registry();
  const intake = new ConfigIntake<number>({
    component: 'agent',
    registry,
    log: silentLogger(),
    build: (c) => {
      steps.push(`build ${c.version}`);
      return build(c);
    },
    swap: async (v) => {
      steps.push(`swap ${v}`);
      if (swapFails) throw new Error('listener failed');
    },
    persist: (c) => steps.push(`persist ${c.version}`),
  });
  const refused = async (reason: string): Promise<number> => (await registry.getSingleMetric('entente_agent_config_refused_total')!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { intake, steps, refused };
}

describe('ConfigIntake', () => {
  it('applies a good config in order: validate, build, swap, then persist', async () => {
    const h = harness();
    assert.deepEqual(await h.intake.offerLine(JSON.stringify(config(4))), { kind: 'applied', version: 4 });
    assert.deepEqual(h.steps, ['build 4', 'swap 4', 'persist 4']);
  });

  const refusals: [string, string, ReturnType<typeof harness>, string[]][] = [
    ['malformed JSON', '{"version": ', harness(), []],
    ['a config that does not validate', JSON.stringify(config(5, { 'node-a': 'not-an-address' })), harness(), []],
    ['a config the build step throws on', JSON.stringify(config(6)), harness(() => { throw new Error('bad bundle'); }), ['build 6']],
    ['a config the build step refuses', JSON.stringify(config(7)), harness(() => ({ kind: 'refused', reason: 'controller_address', message: 'no' })), ['build 7']],
    ['a config whose swap fails', JSON.stringify(config(8)), harness(undefined, true), ['build 8', 'swap 8']],
  ];
  const reasons = ['malformed_json', 'invalid', 'unbuildable', 'controller_address', 'apply_failed'];
  refusals.forEach(([what, line, h, steps], i) => {
    it(`refuses ${what}: counted as ${reasons[i]}, never persisted`, async () => {
      const r = await h.intake.offerLine(line);
      assert.equal(r.kind === 'refused' && r.reason, reasons[i]);
      assert.deepEqual(h.steps, steps);
      assert.equal(await h.refused(reasons[i]!), 1);
    });
  });

  it('takes configs one at a time, in arrival order', async () => {
    const h = harness();
    await Promise.all([1, 2, 3].map((v) => h.intake.offerLine(JSON.stringify(config(v)))));
    assert.deepEqual(h.steps.filter((s) => s.startsWith('persist')), ['persist 1', 'persist 2', 'persist 3']);
  });

  it('skips a cache that is missing, corrupt or invalid, and builds a good one', async () => {
    const h = harness();
    assert.equal(h.intake.cached(undefined), undefined);
    assert.equal(h.intake.cached('{"version": '), undefined);
    assert.equal(h.intake.cached(JSON.stringify(config(2, { 'node-a': '10.0.0.1:99999' }))), undefined);
    assert.equal(await h.refused('cache_malformed_json'), 1);
    assert.equal(await h.refused('cache_invalid'), 1);
    assert.deepEqual(h.intake.cached(JSON.stringify(config(3)))?.value, 3);
  });
});
