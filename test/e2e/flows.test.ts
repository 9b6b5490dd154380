// `entente flows` against a real two-region mesh with demo traffic: the eu
// controller answers with flows its own agents recorded and flows us's
// controller served it over the federation API, each with its verdict and the
// policy rule behind it; with us's controller down, eu's flows still come and
// us is named as unreachable.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Lab } from '../../src/lab/lab.js';
import type { StoredFlow } from '../../src/mesh/flow-wire.js';
import { eventually } from '../../src/core/eventually.js';
import { randomIpPrefix, runCli, startTestMesh } from './lab-harness.js';

let lab: Lab;
before(async () => {
  lab = await startTestMesh(['eu', 'us'], randomIpPrefix(219, 222), { traffic: true });
});
after(async () => {
  await lab?.stop();
});

interface FlowsJson {
  flows: StoredFlow[];
  regions: { region: string; ok: boolean; error?: string }[];
}

async function flowsJson(...args: string[]): Promise<{ code: number | null; out: FlowsJson | undefined; stderr: string }> {
  const r = await runCli(['flows', '--controller', lab.adminUrl('eu'), '-o', 'json', ...args], 60_000);
  let out: FlowsJson | undefined;
  try {
    out = JSON.parse(r.stdout) as FlowsJson;
  } catch {
    out = undefined;
  }
  return { code: r.code, out, stderr: r.stderr };
}

test('entente flows -o json: flows recorded in both regions, with verdict, policy and rule', { timeout: 180_000 }, async () => {
  const got = await eventually(
    async () => {
      const r = await flowsJson('--limit', '2000');
      const decided = r.out?.flows.filter((f) => f.policy !== undefined && f.rule !== undefined && f.verdict === 'allow') ?? [];
      const regions = new Set(decided.map((f) => f.region));
      return r.code === 0 && regions.has('eu') && regions.has('us') ? r.out : undefined;
    },
    { what: 'flows decided by a rule, recorded in eu and in us', timeoutMs: 120_000, intervalMs: 1000 },
  );
  assert.deepEqual(got.regions.map((r) => [r.region, r.ok]), [['eu', true], ['us', true]]);
  for (const f of got.flows) {
    assert.ok(['allow', 'deny', 'error'].includes(f.verdict), `verdict ${f.verdict}`);
    assert.ok(f.node.startsWith(`${f.region}-`), `${f.node} is a node of ${f.region}`);
  }
  // The lab's denied routes show as denied, with the reason.
  const denied = await eventually(async () => (await flowsJson('--verdict', 'deny')).out?.flows.find((f) => f.reason !== undefined), {
    what: 'a denied flow with its reason',
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
  assert.equal(denied.verdict, 'deny');
  // A filter is applied by both controllers.
  const toLedger = await flowsJson('--to', 'shop/ledger', '--limit', '200');
  assert.ok(toLedger.out!.flows.every((f) => f.service === 'shop/ledger'));
});

test('entente flows: bad options exit 2 and name the option; a controller that cannot be read exits 4', { timeout: 60_000 }, async () => {
  const bad = await runCli(['flows', '--controller', lab.adminUrl('eu'), '--verdict', 'maybe'], 30_000);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--verdict maybe: expected allow, deny or error/);
  const since = await runCli(['flows', '--controller', lab.adminUrl('eu'), '--since', 'yesterday'], 30_000);
  assert.equal(since.code, 2, since.stderr);
  const down = await runCli(['flows', '--controller', 'http://127.0.0.1:9'], 30_000);
  assert.equal(down.code, 4, down.stderr);
});

test("entente flows with a peer's controller down: eu's flows still shown, us named as unreachable", { timeout: 180_000 }, async () => {
  await lab.killComponent('us-controller');
  const r = await eventually(
    async () => {
      const x = await flowsJson();
      return x.code === 0 && x.out?.regions.some((g) => g.region === 'us' && !g.ok) ? x : undefined;
    },
    { what: 'us reported unreachable', timeoutMs: 60_000, intervalMs: 1000 },
  );
  assert.ok(r.out!.flows.some((f) => f.region === 'eu'), "eu's own flows");
  assert.ok(!r.out!.flows.some((f) => f.region === 'us'), 'nothing from us while its controller is down');
  assert.match(r.out!.regions.find((g) => g.region === 'us')!.error!, /ECONNREFUSED|ECONNRESET|timed out|socket hang up/);
  const text = await runCli(['flows', '--controller', lab.adminUrl('eu'), '--limit', '5'], 30_000);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /region us could not be read/);
  assert.match(text.stdout, /^TIME +REGION +DIR +SOURCE/m);
});
