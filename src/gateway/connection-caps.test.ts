// Gateway connection caps: the decision as a table, and the per-source book-keeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionCaps, decideCapacity } from './connection-caps.js';

test('decideCapacity: the global cap first, then the per-source cap', () => {
  const caps = { maxConnections: 10, maxConnectionsPerSource: 3 };
  const table: Array<[active: number, fromSource: number, want: string]> = [
    [0, 0, 'admit'], [9, 2, 'admit'], [10, 0, 'over_capacity'], [10, 3, 'over_capacity'], [5, 3, 'source_over_capacity'], [5, 4, 'source_over_capacity'],
  ];
  for (const [active, fromSource, want] of table) {
    const d = decideCapacity(caps, active, fromSource, '192.0.2.1');
    assert.equal(d.kind === 'admit' ? 'admit' : d.result, want, `${active} active, ${fromSource} from the source`);
  }
  const d = decideCapacity(caps, 5, 3, '192.0.2.1');
  assert.ok(d.kind === 'refuse' && d.reason.includes('192.0.2.1') && d.reason.includes('limits.maxConnectionsPerSource'));
});

test('ConnectionCaps: per-source slots, released once, other sources unaffected', () => {
  const c = new ConnectionCaps({ maxConnections: 4, maxConnectionsPerSource: 2 });
  const a1 = c.admit('a');
  const a2 = c.admit('a');
  assert.equal(c.admit('a').kind, 'refuse');
  assert.equal(c.admit('b').kind, 'admit');
  assert.ok(a1.kind === 'admit' && a2.kind === 'admit');
  a1.release();
  a1.release();
  assert.equal(c.admit('a').kind, 'admit', 'one slot freed');
  assert.equal(c.admit('c').kind, 'admit', 'the fourth connection');
  const last = c.admit('d');
  assert.equal(last.kind, 'refuse', 'global cap reached (4 open)');
  assert.equal(last.kind === 'refuse' && last.result, 'over_capacity');
});
