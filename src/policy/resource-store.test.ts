// ResourceStore over a real temp directory: last good set stays in force on
// errors, a fix applies, onChange fires once per digest change, errors are
// logged once per distinct set; both fs.watch and the poll fallback are tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, rename } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { silentLogger } from '../core/log.js';
import { ResourceStore, type ResourceSnapshot } from './resource-store.js';
import { eventually } from '../core/eventually.js';
import { LastGoodFile } from './last-good-file.js';

const HEAD = 'apiVersion: entente.dev/v1alpha1';
const cart = (port: number) => `${HEAD}\nkind: Service\nmetadata: { name: cart, namespace: shop }\nspec: { ports: [{ port: ${port} }] }\n`;
const BROKEN = `${HEAD}\nkind: Service\nmetadata: { name: cart, namespace: shop }\nspec: { ports: [{ port: 0 }] }\n`;
const BROKEN_OTHER = `${HEAD}\nkind: Service\nmetadata: { name: cart, namespace: shop }\nspec: { prots: [] }\n`;

/** Atomic replace, like a `git checkout`; a plain write could be read half-done. */
async function put(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, join(dir, name));
}

async function withStore(
  files: Record<string, string>,
  options: { watch?: boolean; pollIntervalMs?: number; log?: ReturnType<typeof silentLogger> },
  fn: (ctx: { dir: string; store: ResourceStore; changes: ResourceSnapshot[] }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-store-'));
  const changes: ResourceSnapshot[] = [];
  const store = new ResourceStore({
    dir, log: options.log ?? silentLogger(), onChange: (s) => changes.push(s), debounceMs: 30,
    pollIntervalMs: options.pollIntervalMs ?? 60_000, ...(options.watch === undefined ? {} : { watch: options.watch }),
  });
  try {
    for (const [name, text] of Object.entries(files)) await put(dir, name, text);
    await store.start();
    await fn({ dir, store, changes });
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('ResourceStore (fs.watch): a broken file keeps the last good set; fixing it applies; onChange once per change', async () => {
  await withStore({ 'cart.yaml': cart(8080) }, {}, async ({ dir, store, changes }) => {
    const first = store.snapshot();
    assert.equal(first.generation, 1);
    assert.equal(first.resources.services[0]!.spec.ports[0]!.port, 8080);
    assert.equal(changes.length, 1);
    assert.equal(store.status().ok, true);

    await put(dir, 'cart.yaml', BROKEN);
    await eventually(() => !store.status().ok, { what: 'the broken file is noticed' });
    const st = store.status();
    assert.equal(st.errors.length, 1);
    assert.equal(st.errors[0]!.file, join(dir, 'cart.yaml'));
    assert.equal(st.errors[0]!.key, 'spec.ports[0].port');
    assert.equal(store.snapshot(), first, 'the last good snapshot stays in force, untouched');
    assert.equal(changes.length, 1);

    await put(dir, 'cart.yaml', cart(9090));
    await eventually(() => store.snapshot().generation === 2, { what: 'the fix is applied' });
    assert.equal(store.snapshot().resources.services[0]!.spec.ports[0]!.port, 9090);
    assert.deepEqual(store.status().errors, []);
    assert.equal(store.status().ok, true);
    assert.equal(changes.length, 2);
    assert.equal(changes[1], store.snapshot());
    assert.notEqual(changes[1]!.digest, first.digest);

    // Same content rewritten: a load happens, but nothing changes.
    const before = store.status().lastAttemptAt!;
    await put(dir, 'cart.yaml', cart(9090));
    await eventually(() => store.status().lastAttemptAt! > before, { what: 'the rewrite is loaded' });
    assert.equal(store.snapshot().generation, 2);
    assert.equal(changes.length, 2);
  });
});

test('ResourceStore (poll only): changes are picked up by the mtime poll', async () => {
  await withStore({ 'cart.yaml': cart(8080) }, { watch: false, pollIntervalMs: 50 }, async ({ dir, store, changes }) => {
    await put(dir, 'more.yaml', `${HEAD}\nkind: Service\nmetadata: { name: pay, namespace: shop }\nspec: { ports: [{ port: 1 }] }\n`);
    await eventually(() => store.snapshot().resources.services.length === 2, { what: 'the new file is polled in' });
    assert.equal(changes.length, 2);
    await rm(join(dir, 'more.yaml'));
    await eventually(() => store.snapshot().resources.services.length === 1, { what: 'the removal is polled in' });
    assert.equal(store.snapshot().generation, 3);
  });
});

test('ResourceStore: a failed first load holds the empty set (default deny) and says so; a fix applies', async () => {
  await withStore({ 'cart.yaml': BROKEN }, {}, async ({ dir, store, changes }) => {
    const st = store.status();
    assert.equal(st.ok, false);
    assert.equal(st.lastGoodAt, undefined);
    assert.equal(st.generation, 0);
    assert.deepEqual(store.snapshot().resources, { services: [], workloads: [], authorizationPolicies: [], trafficPolicies: [], dataRoutes: [] });
    assert.equal(store.snapshot().loadedAt, undefined);
    assert.equal(changes.length, 0);
    await put(dir, 'cart.yaml', cart(8080));
    await store.reload();
    assert.equal(store.status().ok, true);
    assert.equal(store.snapshot().generation, 1);
    assert.equal(changes.length, 1);
  });
});

test('ResourceStore: errors are logged once per distinct error set', async () => {
  const lines: { msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { msg: string; level: number });
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const rejected = () => lines.filter((l) => l.msg.startsWith('policy directory rejected')).length;
  await withStore({ 'cart.yaml': cart(8080) }, { log, watch: false }, async ({ dir, store }) => {
    await put(dir, 'cart.yaml', BROKEN);
    for (let i = 0; i < 3; i++) await store.reload();
    assert.equal(rejected(), 1);
    assert.ok(lines.some((l) => l.msg.includes('spec.ports[0].port') && l.msg.includes('keeping') === false), 'each error is logged with its key');
    await put(dir, 'cart.yaml', BROKEN_OTHER);
    await store.reload();
    await store.reload();
    assert.equal(rejected(), 2);
    await put(dir, 'cart.yaml', cart(8080));
    await store.reload();
    assert.ok(lines.some((l) => l.msg === 'policy directory is valid again'));
    await put(dir, 'cart.yaml', BROKEN);
    await store.reload();
    assert.equal(rejected(), 3, 'a recurrence after a good load is logged again');
  });
});

test('ResourceStore: concurrent reloads are serialized and each sees a load that started after it', async () => {
  await withStore({ 'cart.yaml': cart(8080) }, { watch: false }, async ({ dir, store, changes }) => {
    const first = store.reload();
    await put(dir, 'cart.yaml', cart(8081));
    const second = store.reload();
    await Promise.all([first, second, store.reload()]);
    assert.equal(store.snapshot().resources.services[0]!.spec.ports[0]!.port, 8081);
    assert.equal(new Set(changes.map((c) => c.generation)).size, changes.length, 'generations are distinct');
  });
});

test('ResourceStore: after close() nothing is applied', async () => {
  await withStore({ 'cart.yaml': cart(8080) }, { pollIntervalMs: 30 }, async ({ dir, store, changes }) => {
    await store.close();
    await put(dir, 'cart.yaml', cart(9999));
    await store.reload();
    // Give the (closed) watcher and poll time to misbehave, bounded: this asserts an absence.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(store.snapshot().resources.services[0]!.spec.ports[0]!.port, 8080);
    assert.equal(changes.length, 1);
  });
});

// Finding 6 (issue 7): a controller restarted over a broken directory started from the empty set.
test('ResourceStore with a last-good file: a restart over a broken directory serves the saved set; generations only grow, across restarts too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-lastgood-'));
  const state = await mkdtemp(join(tmpdir(), 'entente-policy-lastgood-state-'));
  const file = join(state, 'resources-last-good.json');
  const open = (): ResourceStore => new ResourceStore({ dir, log: silentLogger(), watch: false, pollIntervalMs: 60_000, lastGood: new LastGoodFile(file) });
  const port = (s: ResourceStore): number | undefined => s.snapshot().resources.services[0]?.spec.ports[0]?.port;
  const stores: ResourceStore[] = [];
  const start = async (): Promise<ResourceStore> => {
    const s = open();
    stores.push(s);
    await s.start();
    return s;
  };
  try {
    await put(dir, 'cart.yaml', cart(8080));
    let store = await start();
    await put(dir, 'cart.yaml', cart(8081));
    await store.reload();
    assert.equal(store.snapshot().generation, 2);
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the saved set is private to the controller');
    await store.close();

    await put(dir, 'cart.yaml', BROKEN);
    store = await start();
    const st = store.status();
    assert.equal(st.ok, false);
    assert.equal(st.errors[0]!.key, 'spec.ports[0].port');
    assert.equal(store.snapshot().generation, 2, 'the saved generation is in force');
    assert.equal(port(store), 8081, 'the saved set is in force, not the empty set');
    assert.equal(st.inForce.source, 'last-good-file');
    assert.equal(st.inForce.generation, 2);
    assert.equal(st.stale, true);
    assert.match(st.summary, /older than the policy directory.*1 error.*generation 2/);

    await put(dir, 'cart.yaml', cart(8082));
    await store.reload();
    assert.deepEqual([store.status().ok, store.status().stale, store.snapshot().generation, port(store)], [true, false, 3, 8082]);
    assert.equal(store.status().inForce.source, 'directory');
    await store.close();

    // The same content after a restart keeps its generation; different content never reuses an old one.
    store = await start();
    assert.equal(store.snapshot().generation, 3);
    await put(dir, 'cart.yaml', cart(8080));
    await store.reload();
    assert.equal(store.snapshot().generation, 4, 'the content of generation 1 comes back as generation 4');
    await store.close();
    store = await start();
    assert.deepEqual([store.snapshot().generation, port(store)], [4, 8080]);
  } finally {
    for (const s of stores) await s.close();
    await rm(dir, { recursive: true, force: true });
    await rm(state, { recursive: true, force: true });
  }
});

test('ResourceStore with a last-good file: a first start over a broken directory with no saved set holds nothing in force and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-policy-lastgood-'));
  const store = new ResourceStore({ dir, log: silentLogger(), watch: false, lastGood: new LastGoodFile(join(dir, '.state', 'last-good.json')) });
  try {
    await put(dir, 'cart.yaml', BROKEN);
    await store.start();
    const st = store.status();
    assert.deepEqual([st.ok, st.stale, st.inForce.source, st.inForce.generation], [false, true, 'none', 0]);
    assert.match(st.summary, /no good set was ever loaded/);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
