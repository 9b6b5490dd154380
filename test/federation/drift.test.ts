// Drift between two real controllers (in-process, real mTLS federation): the
// same policy file in both regions is no drift although their workloads
// differ; an edit in one region is named, with what each side has, by the
// admin API and by `entente drift` (exit 0, then 1). A resource directory that
// is a Git checkout publishes its commit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import type { DriftReport } from '../../src/federation/drift.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { PEERS_PORT, bundlePathOf, randomPrefix, startFixtureController, type FixtureController } from './controller-fixture.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'entente.mjs');
let root: string;
let a: FixtureController;
let b: FixtureController;

const policy = (methods: string[]): string =>
  stringify({
    apiVersion: API_VERSION, kind: 'AuthorizationPolicy', metadata: { name: 'app-readers', namespace: 'shop' },
    spec: { action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }], to: [{ methods }] }] },
  });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-drift-'));
  const prefix = randomPrefix();
  const url = (host: string) => `https://${host}:${PEERS_PORT}`;
  [a, b] = await Promise.all([
    startFixtureController(root, 'a', `${prefix}.1`, [{ region: 'b', url: url(`${prefix}.2`), bundle: bundlePathOf(root, 'b') }], { staleAfter: '10s' }),
    startFixtureController(root, 'b', `${prefix}.2`, [{ region: 'a', url: url(`${prefix}.1`), bundle: bundlePathOf(root, 'a') }], { staleAfter: '10s' }),
  ]);
});

after(async () => {
  await Promise.all([a?.running.close(), b?.running.close()]);
  await rm(root, { recursive: true, force: true });
});

const driftOf = async (c: FixtureController): Promise<DriftReport> => (await httpJson<DriftReport>(`http://${c.ip}:15000/v1/drift`)).body;
const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ENTENTE_CONTROLLER: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });

test('equal policy is no drift whatever the workloads; an edit in one region is detected and named by the API and the CLI', async () => {
  // a's resource directory becomes a Git checkout: its commit is published.
  const git = (...args: string[]): string => execFileSync('git', ['-C', a.resourcesDir, '-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { encoding: 'utf8' });
  git('init', '-q');
  await Promise.all([a.writeResources('policy.yaml', policy(['GET'])), b.writeResources('policy.yaml', policy(['GET']))]);
  git('add', '.');
  git('commit', '-qm', 'policy');
  const head = git('rev-parse', 'HEAD').trim();

  let last: DriftReport | undefined;
  const settled: DriftReport = await eventually(async () => {
    const r = await driftOf(a);
    const peer = r.regions.find((x) => x.region === 'b');
    last = r;
    return peer?.known && peer.resourceCount === 1 && r.regions[0]?.commit === head && !r.drift ? r : undefined;
  }, { timeoutMs: 60_000, what: 'a to see b\'s policy, equal to its own, and its own commit' }).catch((err: Error) => { throw new Error(`${err.message}; last: ${JSON.stringify(last)}`); });
  assert.deepEqual(settled.differing, []);
  assert.equal(settled.regions[0]?.digest, settled.regions[1]?.digest, 'one policy digest although the workloads differ');
  const none = await cli(['drift', '--controller', `http://${a.ip}:15000`]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no drift/);

  await b.writeResources('policy.yaml', policy(['GET', 'POST']));
  const drifted = await eventually(async () => {
    const r = await driftOf(a);
    return r.drift ? r : undefined;
  }, { timeoutMs: 60_000, what: 'a to see b\'s edited policy as drift' });
  assert.equal(drifted.differing.length, 1);
  assert.equal(drifted.differing[0]?.resource, 'AuthorizationPolicy shop/app-readers');
  const sides = drifted.differing[0]!.regions;
  assert.ok(sides.a && sides.b && sides.a !== sides.b, JSON.stringify(sides));

  const text = await cli(['drift', '--controller', `http://${a.ip}:15000`]);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /1 resource\(s\) differ:\n {2}AuthorizationPolicy shop\/app-readers/);
  const json = await cli(['drift', '--controller', `http://${a.ip}:15000`, '--json']);
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as DriftReport).differing[0]?.resource, 'AuthorizationPolicy shop/app-readers');
});

test('entente drift without a controller, or with a malformed URL, is a usage error (exit 2)', async () => {
  const missing = await cli(['drift']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--controller URL or set ENTENTE_CONTROLLER/);
  const bad = await cli(['drift', '--controller', 'not a url']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a controller admin URL/);
});
