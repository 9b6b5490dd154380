// A policy directory laid out as Kubernetes mounts a ConfigMap (..data symlink
// swapped atomically on update): the store loads through the symlinks, skips
// the dot directories, and picks up an update, a broken update and a fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { ResourceStore, authorize, compilePolicies } from '../../src/policy/index.js';
import { eventually } from '../../src/core/eventually.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const SERVICE = `${HEAD}\nkind: Service\nmetadata: { name: cart, namespace: shop }\nspec: { ports: [{ port: 8080 }] }\n`;
const allowFrom = (ns: string) => `${HEAD}\nkind: AuthorizationPolicy\nmetadata: { name: allow, namespace: shop }\nspec:\n  rules:\n    - from: [{ namespaces: [${ns}] }]\n`;

/** Writes a new timestamped version directory and swaps ..data to it, as the kubelet does. */
async function publish(dir: string, version: number, files: Record<string, string>): Promise<void> {
  const versionDir = join(dir, `..v${version}`);
  await mkdir(versionDir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(versionDir, name), text);
  await symlink(`..v${version}`, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  if (version > 1) await rm(join(dir, `..v${version - 1}`), { recursive: true, force: true });
}

test('ResourceStore over a ConfigMap-style mount: update, broken update, fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-cm-'));
  const store = new ResourceStore({ dir, log: silentLogger(), debounceMs: 30, pollIntervalMs: 100 });
  const req = (ns: string) => ({ caller: { id: `spiffe://eu.lab/ns/${ns}/sa/x`, trustDomain: 'eu.lab', namespace: ns }, service: { namespace: 'shop', name: 'cart' }, port: 8080 });
  try {
    await publish(dir, 1, { 'service.yaml': SERVICE, 'policy.yaml': allowFrom('web') });
    for (const name of ['service.yaml', 'policy.yaml']) await symlink(join('..data', name), join(dir, name));
    await store.start();
    assert.deepEqual(store.status().errors, []);
    assert.equal(store.snapshot().resources.services.length, 1, 'files are read once, through the top-level symlinks');
    let compiled = compilePolicies(store.snapshot().resources.authorizationPolicies);
    assert.equal(authorize(compiled, req('web')).kind, 'allow');
    assert.equal(authorize(compiled, req('batch')).kind, 'deny');

    await publish(dir, 2, { 'service.yaml': SERVICE, 'policy.yaml': allowFrom('batch') });
    await eventually(() => store.snapshot().generation === 2, { what: 'the swapped ..data is picked up' });
    compiled = compilePolicies(store.snapshot().resources.authorizationPolicies);
    assert.equal(authorize(compiled, req('web')).kind, 'deny');
    assert.equal(authorize(compiled, req('batch')).kind, 'allow');

    await publish(dir, 3, { 'service.yaml': SERVICE, 'policy.yaml': allowFrom('Not_A_Label') });
    await eventually(() => !store.status().ok, { what: 'the broken update is noticed' });
    assert.equal(store.status().errors[0]!.key, 'spec.rules[0].from[0].namespaces[0]');
    assert.equal(store.snapshot().generation, 2, 'the last good set stays in force');

    await publish(dir, 4, { 'service.yaml': SERVICE, 'policy.yaml': allowFrom('ops') });
    await eventually(() => store.snapshot().generation === 3, { what: 'the fix is applied' });
    assert.equal(store.status().ok, true);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
