// The reflector against the list/watch double of the API server (no real API
// server can run here; api-double.ts follows the documented behaviour), over
// real HTTPS (a certificate made with openssl, verified from the kubeconfig's
// certificate-authority-data), authenticated by a bearer token, both applied
// by client-node's KubeConfig: a paged list,
// events, bookmarks, a dropped watch resumed from the last resourceVersion,
// 410 Gone (as an event and as a status) answered by a fresh list that also
// sees what changed meanwhile, failures retried with backoff, a silent watch
// abandoned, malformed objects refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import type { KubeApiDouble } from '../../src/kubernetes/api-double.js';
import { Reflector } from '../../src/kubernetes/reflector.js';
import { kubePod, startApiFixture, type ApiFixture } from './api-fixture.js';

const PODS = '/api/v1/pods';

const pod = (name: string, node = 'node-a') => kubePod(name, node);

describe('Reflector', () => {
  let fixture: ApiFixture;
  let api: KubeApiDouble;
  const reflectors: Reflector[] = [];
  before(async () => {
    fixture = await startApiFixture({ bookmarkMs: 100 });
    api = fixture.api;
    api.collection(PODS, 'Pod', 'v1');
  });
  after(async () => {
    await Promise.all(reflectors.map((r) => r.stop()));
    await fixture?.close();
  });

  async function start(opts: { idleTimeoutMs?: number; pageSize?: number; token?: string } = {}): Promise<{ r: Reflector; changes: () => number }> {
    const transport = await fixture.transport(opts.token);
    let changes = 0;
    const r = new Reflector({ resource: 'pods', path: PODS, namespaced: true, transport, log: createLogger('test', {}, { level: 'fatal' }), onChange: () => changes++, pageSize: opts.pageSize ?? 2, watchTimeoutS: 30, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, backoff: { initialMs: 20, maxMs: 200 } });
    reflectors.push(r);
    r.start();
    return { r, changes: () => changes };
  }
  const names = (r: Reflector): string[] => r.items().map((p) => p.metadata.name).sort();

  it('lists in pages, then follows events; the resourceVersion moves with events and bookmarks', async () => {
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) api.put(PODS, pod(n));
    const before = api.requests.length;
    const { r } = await start();
    await eventually(async () => (r.hasSynced ? true : undefined), { what: 'the first list', timeoutMs: 20_000, intervalMs: 10 });
    assert.deepEqual(names(r), ['p1', 'p2', 'p3', 'p4', 'p5']);
    const lists = api.requests.slice(before).filter((q) => q.query.watch === undefined);
    assert.equal(lists.length, 3, 'five pods, two per page: three pages');
    assert.ok(lists[1]!.query.continue, 'later pages carry the continue token');
    api.put(PODS, pod('p6'));
    api.put(PODS, pod('p1', 'node-b'));
    api.delete(PODS, 'shop', 'p2');
    await eventually(async () => (names(r).join() === 'p1,p3,p4,p5,p6' ? true : undefined), { what: 'the events applied', timeoutMs: 20_000, intervalMs: 10 });
    assert.equal((r.items().find((p) => p.metadata.name === 'p1')!.spec as { nodeName: string }).nodeName, 'node-b');
    const watch = api.requests.slice(before).find((q) => q.query.watch === '1')!;
    assert.equal(watch.query.allowWatchBookmarks, 'true');
    assert.equal(watch.query.resourceVersion, lists.at(-1)!.query.continue!.split(':')[1], "the watch starts at the list's resourceVersion");
    // No change for a while: bookmarks alone move it to the server's current one.
    await eventually(async () => (r.resourceVersion === api.resourceVersion && r.stats.bookmarks > 0 ? true : undefined), { what: 'a bookmark', timeoutMs: 20_000, intervalMs: 20 });
    await r.stop();
  });

  it('a dropped watch resumes from the last resourceVersion, missing nothing and listing nothing again', async () => {
    const { r } = await start();
    await eventually(async () => (r.hasSynced && api.openWatches > 0 ? true : undefined), { what: 'watching', timeoutMs: 20_000, intervalMs: 10 });
    const lists = r.stats.lists;
    const rvAtDrop = r.resourceVersion;
    api.dropWatches();
    api.put(PODS, pod('p7')); // while no watch is open
    await eventually(async () => (names(r).includes('p7') ? true : undefined), { what: 'p7, added while disconnected', timeoutMs: 20_000, intervalMs: 10 });
    assert.equal(r.stats.lists, lists, 'no new list');
    const resumed = api.requests.filter((q) => q.query.watch === '1').at(-1)!;
    assert.ok(Number(resumed.query.resourceVersion) >= Number(rvAtDrop), 'resumed from where it was (or a later bookmark)');
    await r.stop();
  });

  for (const asStatus of [false, true]) {
    it(`410 Gone ${asStatus ? 'as an HTTP status' : 'as an ERROR event'}: a fresh list replaces the copy, with what changed meanwhile`, async () => {
      const { r } = await start();
      await eventually(async () => (r.hasSynced && api.openWatches > 0 ? true : undefined), { what: 'watching', timeoutMs: 20_000, intervalMs: 10 });
      const gone = r.stats.relistsAfterGone;
      api.goneAsHttpStatus = asStatus;
      // Cut the watch and keep it from coming back (no bookmark may carry it past the compaction),
      // change things, and compact: the reflector's resourceVersion is now too old.
      api.failNext(503, 1_000_000, true);
      api.dropWatches();
      api.delete(PODS, 'shop', 'p3');
      api.put(PODS, pod(`gone-${asStatus}`));
      api.compact();
      await eventually(async () => (r.stats.failures > 0 ? true : undefined), { what: 'a refused watch', timeoutMs: 20_000, intervalMs: 10 });
      api.failNext(503, 0);
      await eventually(async () => (r.stats.relistsAfterGone > gone && names(r).includes(`gone-${asStatus}`) && !names(r).includes('p3') ? true : undefined), { what: 'relisted after 410', timeoutMs: 20_000, intervalMs: 10 });
      api.goneAsHttpStatus = false;
      api.put(PODS, pod('p3'));
      await eventually(async () => (names(r).includes('p3') ? true : undefined), { what: 'watching again after the relist', timeoutMs: 20_000, intervalMs: 10 });
      await r.stop();
    });
  }

  it('failures are retried with backoff; nothing is synced until a list succeeds', async () => {
    api.failNext(500, 3);
    const { r } = await start();
    await eventually(async () => (r.stats.failures >= 3 ? true : undefined), { what: 'three failures', timeoutMs: 20_000, intervalMs: 10 });
    await eventually(async () => (r.hasSynced ? true : undefined), { what: 'synced after the failures', timeoutMs: 20_000, intervalMs: 10 });
    assert.ok(names(r).length > 0);
    // A watch that fails (the API server restarting) is retried too, without a list.
    const lists = r.stats.lists;
    api.failNext(503, 2, true);
    api.dropWatches();
    api.put(PODS, pod('after-503'));
    await eventually(async () => (names(r).includes('after-503') ? true : undefined), { what: 'the change after the failed watches', timeoutMs: 20_000, intervalMs: 10 });
    assert.equal(r.stats.lists, lists);
    await r.stop();
  });

  it('a watch that goes silent (no event, no bookmark) is abandoned and opened again', async () => {
    api.silentWatches = true;
    const { r } = await start({ idleTimeoutMs: 300 });
    await eventually(async () => (r.stats.idleTimeouts >= 1 ? true : undefined), { what: 'an idle timeout', timeoutMs: 20_000, intervalMs: 10 });
    api.silentWatches = false;
    api.put(PODS, pod('after-silence'));
    await eventually(async () => (names(r).includes('after-silence') ? true : undefined), { what: 'events again after the silent watch', timeoutMs: 20_000, intervalMs: 10 });
    await r.stop();
  });

  it('malformed objects are refused and counted; the rest is kept', async () => {
    const { r } = await start();
    await eventually(async () => (r.hasSynced && api.openWatches > 0 ? true : undefined), { what: 'watching', timeoutMs: 20_000, intervalMs: 10 });
    const before = names(r);
    api.inject(PODS, { type: 'ADDED', object: { metadata: { namespace: 'shop', resourceVersion: '1' } } });
    api.inject(PODS, { type: 'ADDED', object: { metadata: { name: 'no-namespace', resourceVersion: '1' } } });
    api.inject(PODS, { type: 'STRANGE', object: pod('x') });
    await eventually(async () => (r.stats.refused >= 3 ? true : undefined), { what: 'three refusals', timeoutMs: 20_000, intervalMs: 10 });
    assert.deepEqual(names(r), before);
    await r.stop();
  });

  it('a wrong token is refused by the server: never synced, retried', async () => {
    const { r } = await start({ token: 'wrong' });
    await eventually(async () => (r.stats.failures >= 2 ? true : undefined), { what: 'refused lists', timeoutMs: 20_000, intervalMs: 10 });
    assert.equal(r.hasSynced, false);
    await r.stop();
  });
});
