import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spreadPeers } from './peer-spread.js';

const ring = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

test('fanout at or above the peer count: every peer, self excluded', () => {
  assert.deepEqual(spreadPeers('r1', ring(4), 8), ['r0', 'r2', 'r3']);
  assert.deepEqual(spreadPeers('r1', ring(4), 3), ['r0', 'r2', 'r3']);
});

for (const [n, k] of [[16, 3], [64, 4], [511, 8]] as const) {
  test(`${n} regions, fanout ${k}: k distinct peers each, never self, and every region pulled by someone`, () => {
    const all = ring(n);
    const pulledBy = new Map<string, number>();
    for (const self of all) {
      const chosen = spreadPeers(self, all.filter((r) => r !== self), k);
      assert.equal(chosen.length, k);
      assert.equal(new Set(chosen).size, k);
      assert.ok(!chosen.includes(self));
      for (const c of chosen) pulledBy.set(c, (pulledBy.get(c) ?? 0) + 1);
    }
    assert.equal(pulledBy.size, n, 'a region nobody pulls would never be heard');
    // Reachability in the pull graph (information flows from the pulled to the puller): all from r0 in few hops.
    const graph = new Map(all.map((s) => [s, spreadPeers(s, all.filter((r) => r !== s), k)]));
    let frontier = new Set(['r0']);
    const seen = new Set(frontier);
    let hops = 0;
    while (seen.size < n && hops < n) {
      const nextF = new Set<string>();
      for (const [puller, from] of graph) if (!seen.has(puller) && from.some((f) => frontier.has(f))) nextF.add(puller);
      for (const x of nextF) seen.add(x);
      frontier = nextF;
      hops++;
    }
    assert.equal(seen.size, n);
    assert.ok(hops <= 2 * Math.ceil(Math.log(n) / Math.log(k)) + 2, `diameter-ish ${hops} hops`);
  });
}

test('deterministic: the same choice on every call', () => {
  assert.deepEqual(spreadPeers('r7', ring(100), 5), spreadPeers('r7', ring(100), 5));
});
