// The commands an operator runs first, against a real two-region mesh:
// `entente check` passes, and fails naming the peer once us's controller is
// killed; `entente status` and `entente version` print, in every -o format,
// finding the controller through $ENTENTE_CONTROLLER as the lab tells you to.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { eventually } from '../../src/core/eventually.js';
import { randomIpPrefix, runCli, startTestMesh } from './lab-harness.js';

let lab: Lab;
before(async () => {
  lab = await startTestMesh(['eu', 'us'], randomIpPrefix(223, 226));
});
after(async () => {
  await lab?.stop();
});

interface CheckJson {
  passed: boolean;
  checks: { name: string; outcome: string; detail: string; hint?: string }[];
}

const env = (): Record<string, string> => ({ ENTENTE_CONTROLLER: lab.adminUrl('eu') });

test('version, status and check with a healthy mesh', { timeout: 180_000 }, async () => {
  const version = await runCli(['version', '-o', 'json'], 30_000, env());
  assert.equal(version.code, 0, version.stderr);
  const v = JSON.parse(version.stdout) as { client: { version: string }; controller?: { version?: string; region?: string } };
  assert.equal(v.controller?.region, 'eu');
  assert.equal(v.controller?.version, v.client.version);

  // Once every agent and gateway is connected and us's state has arrived, every check passes.
  const passed = await eventually(
    async () => {
      const r = await runCli(['check'], 30_000, env());
      return r.code === 0 ? r : undefined;
    },
    { what: 'entente check to pass', timeoutMs: 120_000, intervalMs: 1000 },
  );
  assert.match(passed.stdout, /peer us is reachable/);
  assert.match(passed.stdout, /all checks passed\n$/);
  assert.doesNotMatch(passed.stdout, /FAIL/);

  const json = await runCli(['check', '-o', 'json'], 30_000, env());
  const c = JSON.parse(json.stdout) as CheckJson;
  assert.equal(c.passed, true);
  assert.ok(c.checks.some((x) => x.name === 'controller serving certificate is valid' && x.outcome === 'ok'), json.stdout);

  const text = await runCli(['status'], 30_000, env());
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^region eu /);
  assert.match(text.stdout, /\n {2}us +reachable/);
  const yaml = await runCli(['status', '--controller', lab.adminUrl('us'), '-o', 'yaml'], 30_000);
  const y = parseYaml(yaml.stdout) as { status: { region: string; peers: { region: string }[]; expiry: { kind: string }[] } };
  assert.equal(y.status.region, 'us');
  assert.deepEqual(y.status.peers.map((p) => p.region), ['eu']);
  assert.ok(y.status.expiry.some((e) => e.kind === 'bundle'), 'the bundle of eu has an expiry');
  const sj = await runCli(['status', '-o', 'json'], 30_000, env());
  assert.equal((JSON.parse(sj.stdout) as { status: { region: string } }).status.region, 'eu');
});

test('usage errors exit 2, an unreachable controller 4', { timeout: 60_000 }, async () => {
  const badFormat = await runCli(['status', '-o', 'xml'], 30_000, env());
  assert.equal(badFormat.code, 2, badFormat.stderr);
  assert.match(badFormat.stderr, /-o xml: expected/);
  const none = await runCli(['check'], 30_000, { ENTENTE_CONTROLLER: '' });
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--controller URL or set ENTENTE_CONTROLLER/);
  const down = await runCli(['check', '--controller', 'http://127.0.0.1:9'], 30_000);
  assert.equal(down.code, 4, down.stderr);
});

test("check fails and names the peer when us's controller is cut off", { timeout: 180_000 }, async () => {
  await lab.killComponent('us-controller');
  const failed = await eventually(
    async () => {
      const r = await runCli(['check', '-o', 'json'], 30_000, env());
      const c = r.stdout ? (JSON.parse(r.stdout) as CheckJson) : undefined;
      return r.code === 1 && c?.checks.some((x) => x.name === 'peer us is reachable' && x.outcome === 'fail') ? c : undefined;
    },
    { what: 'entente check to fail on peer us', timeoutMs: 120_000, intervalMs: 1000 },
  );
  const peer = failed.checks.find((x) => x.name === 'peer us is reachable')!;
  assert.match(peer.detail, /peer us: unreachable/);
  assert.ok(peer.hint, 'a failed check has a hint');
  const text = await runCli(['check'], 30_000, env());
  assert.equal(text.code, 1);
  assert.match(text.stdout, /× FAIL {2}peer us is reachable: peer us: unreachable/);
  assert.match(text.stdout, /hint: check the network path to us's controller/);
});
