// An asymmetric partition with three real controllers (in-process, real mTLS
// sockets): A–B and B–C are up, A–C is cut on the emulated WAN. A and C still
// learn each other's signed states through B, follow each other's changes,
// keep them (stale, not dropped) when B goes too, and go direct once A–C heals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../src/core/eventually.js';
import { startWanLink, type WanLink } from '../../src/lab/wan-link.js';
import { PEERS_PORT, bundlePathOf, randomPrefix, startFixtureController, type FixtureController, type PeerView } from './controller-fixture.js';

let root: string;
const links: WanLink[] = [];
let a: FixtureController;
let b: FixtureController;
let c: FixtureController;
let bClosed = false;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'entente-relay-'));
  const prefix = randomPrefix();
  const ip = { a: `${prefix}.1`, b: `${prefix}.2`, c: `${prefix}.3` };
  // The A–C path crosses a WAN link in each direction; both are cut from the start.
  const aToC = await startWanLink({ listen: { host: `${prefix}.13`, port: PEERS_PORT }, target: { host: ip.c, port: PEERS_PORT }, latencyMs: 5 });
  const cToA = await startWanLink({ listen: { host: `${prefix}.31`, port: PEERS_PORT }, target: { host: ip.a, port: PEERS_PORT }, latencyMs: 5 });
  links.push(aToC, cToA);
  for (const l of links) l.setPartitioned('blackhole');
  const url = (host: string) => `https://${host}:${PEERS_PORT}`;
  [a, b, c] = await Promise.all([
    startFixtureController(root, 'a', ip.a, [
      { region: 'b', url: url(ip.b), bundle: bundlePathOf(root, 'b') },
      { region: 'c', url: url(`${prefix}.13`), bundle: bundlePathOf(root, 'c') },
    ], fixture),
    startFixtureController(root, 'b', ip.b, [
      { region: 'a', url: url(ip.a), bundle: bundlePathOf(root, 'a') },
      { region: 'c', url: url(ip.c), bundle: bundlePathOf(root, 'c') },
    ], fixture),
    startFixtureController(root, 'c', ip.c, [
      { region: 'a', url: url(`${prefix}.31`), bundle: bundlePathOf(root, 'a') },
      { region: 'b', url: url(ip.b), bundle: bundlePathOf(root, 'b') },
    ], fixture),
  ]);
});

after(async () => {
  await Promise.all([a?.running.close(), bClosed ? undefined : b?.running.close(), c?.running.close()]);
  await Promise.all(links.map((l) => l.close()));
  await rm(root, { recursive: true, force: true });
});

// A staleness bound well above the re-sign interval (staleAfter / 3) plus two
// relay hops, so that a busy machine's timer delays cannot make C look stale.
const STALE_AFTER_MS = 10_000;
const fixture = { staleAfter: `${STALE_AFTER_MS}ms` };
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> => eventually(probe, { timeoutMs, intervalMs: 100, what });
const fresh = (p: PeerView | undefined): boolean => !!p && !p.stale && p.version !== undefined;

test('A and C, cut from each other, converge through B: relayed states, verified against their own region bundle', async () => {
  const cAtA = await until('A to hold a fresh state of C', async () => {
    const p = await a.peer('c');
    return fresh(p) && p;
  });
  assert.equal(cAtA.reachable, false, 'A cannot reach C directly');
  assert.equal(cAtA.via, 'b', 'C reached A through B');
  assert.deepEqual(cAtA.exportedServices, ['shop/c-app']);
  const aAtC = await until('C to hold a fresh state of A', async () => {
    const p = await c.peer('a');
    return fresh(p) && p;
  });
  assert.equal(aAtC.via, 'b');
  assert.equal(aAtC.reachable, false);
  // The states B relays are byte for byte the ones C signed: nothing to reject.
  assert.equal((await a.peer('b'))?.rejected, 0);
  assert.equal((await c.peer('b'))?.rejected, 0);
  // A's held version of C is exactly C's own current version.
  assert.equal(cAtA.version, (await c.status()).regionStateVersion);
});

test("a change at C reaches A through B, and the relayed state stays fresh while C re-signs it", async () => {
  await c.exportService('c-extra');
  const seen = await until('A to see C\'s new service', async () => {
    const p = await a.peer('c');
    return p?.exportedServices.includes('shop/c-extra') && p;
  });
  assert.equal(seen.via, 'b');
  assert.equal(seen.version, (await c.status()).regionStateVersion);
  // Nothing changes at C for longer than staleAfter: its re-signed state keeps A's view fresh.
  const start = Date.now();
  while (Date.now() - start < STALE_AFTER_MS + 1000) {
    assert.equal((await a.peer('c'))?.stale, false, 'C is alive, so A must not see it as stale');
    await new Promise((r) => setTimeout(r, 500));
  }
});

test('with B down too, A keeps C (stale, demoted, not dropped); when A–C heals, A hears from C directly', async () => {
  await b.running.close();
  bClosed = true;
  const stale = await until('A to mark C stale', async () => {
    const p = await a.peer('c');
    return p?.stale && p;
  });
  assert.deepEqual(stale.exportedServices.sort(), ['shop/c-app', 'shop/c-extra'], 'routes are kept while stale');
  for (const l of links) l.setPartitioned(false);
  const direct = await until('A to reach C directly', async () => {
    const p = await a.peer('c');
    return p?.reachable && fresh(p) && p;
  });
  assert.equal(direct.via, 'c');
});
