// lab-files: configs that hold join tokens are written 0600, atomically.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildTopology } from './lab-topology.js';
import { regionDir, writeAgentFile, writeControllerFiles, writeGatewayFile } from './lab-files.js';
import { agentConfigSchema } from '../agent/agent-config.js';

describe('lab files holding join tokens', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'entente-lab-files-'));
  after(() => rmSync(workdir, { recursive: true, force: true }));
  const topo = buildTopology({ regions: ['eu', 'us'], ipPrefix: '127.84', rttMs: {}, jitterMs: 0, rate: 1 });
  writeControllerFiles(workdir, topo);
  const eu = topo.regions[0]!;
  const token = 'ej1.abcdefgh.secretsecretsecretsecretsecretsecret.pinpinpinpinpinpinpinpinpinpinpinpinpinpinp';

  const cases: [string, () => string][] = [
    ['agent config', () => writeAgentFile(workdir, eu, eu.agents[0]!, token)],
    ['gateway config', () => writeGatewayFile(workdir, eu, token)],
  ];
  for (const [what, write] of cases) {
    it(`${what}: mode 0600, token intact, no temporary file left`, () => {
      // Written twice: the second write replaces the first whole (and keeps the mode).
      write();
      const path = write();
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal((parse(readFileSync(path, 'utf8')) as { joinToken: string }).joinToken, token);
      assert.deepEqual(readdirSync(regionDir(workdir, eu)).filter((f) => f.endsWith('.tmp')), []);
    });
  }
});

describe('lab agent config with per-service ports', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'entente-lab-files-'));
  after(() => rmSync(workdir, { recursive: true, force: true }));
  const topo = buildTopology({ regions: ['eu', 'us'], ipPrefix: '127.84', rttMs: {}, jitterMs: 0, rate: 1 });
  const eu = topo.regions[0]!;

  it('writes outboundPorts only when given, in the form agent.yaml accepts', () => {
    const plain = parse(readFileSync(writeAgentFile(workdir, eu, eu.agents[0]!, 'token'), 'utf8')) as Record<string, unknown>;
    assert.equal('outboundPorts' in plain, false);
    const port = { host: 'catalog.shop.mesh', port: 80, listen: '127.84.1.11:18080' };
    const withPorts = parse(readFileSync(writeAgentFile(workdir, eu, eu.agents[0]!, 'token', [port]), 'utf8')) as Record<string, unknown>;
    const checked = agentConfigSchema.safeParse(withPorts);
    assert.equal(checked.success, true, checked.error?.message);
    assert.deepEqual(checked.data?.outboundPorts, [{ host: 'catalog.shop.mesh', port: 80, listen: { host: '127.84.1.11', port: 18080 } }]);
  });
});
