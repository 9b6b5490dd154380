import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowMatches, flowQueryString, parseFlowQuery, FlowQueryError } from './flow-query.js';
import { FlowStore, mergeFlows } from './flow-store.js';
import type { StoredFlow } from '../mesh/flow-wire.js';

const flow = (o: Partial<StoredFlow> = {}): StoredFlow => ({
  time: 1000,
  direction: 'inbound',
  source: 'spiffe://eu.example/ns/shop/sa/frontend',
  service: 'shop/ledger',
  sourceRegion: 'eu',
  destinationRegion: 'us',
  verdict: 'allow',
  status: 200,
  bytesIn: 0,
  bytesOut: 0,
  durationMs: 1,
  region: 'us',
  node: 'us-1',
  ...o,
});
const q = (s: string) => parseFlowQuery(new URLSearchParams(s));

test('parseFlowQuery: each bad parameter is named with what was expected', () => {
  assert.throws(() => q('verdict=maybe'), (e: Error) => e instanceof FlowQueryError && /verdict: "maybe" is not allow, deny or error/.test(e.message));
  assert.throws(() => q('limit=0'), /limit: "0" is not an integer from 1 to 5000/);
  assert.throws(() => q('limit=9999'), /limit/);
  assert.throws(() => q('status=abc'), /status: "abc"/);
  assert.throws(() => q('to=Bad Name'), /to: "Bad Name"/);
  assert.throws(() => q('since=-5'), /since/);
  assert.equal(q('').limit, 500);
});

test('flowMatches: from by identity name or SPIFFE ID, to by service, status classes, regions on either side', () => {
  const f = flow();
  assert.ok(flowMatches(f, q('from=frontend')));
  assert.ok(flowMatches(f, q('from=shop/frontend')));
  assert.ok(flowMatches(f, q('from=spiffe://eu.example/ns/shop/sa/frontend')));
  assert.ok(!flowMatches(f, q('from=ledger')));
  assert.ok(flowMatches(f, q('to=ledger')) && flowMatches(f, q('to=shop/ledger')) && !flowMatches(f, q('to=other/ledger')));
  assert.ok(flowMatches(f, q('service=frontend')) && flowMatches(f, q('service=ledger')) && !flowMatches(f, q('service=catalog')));
  assert.ok(flowMatches(f, q('status=2xx')) && flowMatches(f, q('status=200')) && !flowMatches(f, q('status=5xx')));
  assert.ok(flowMatches(f, q('region=eu')) && flowMatches(f, q('region=us')) && !flowMatches(f, q('region=ap')));
  assert.ok(flowMatches(f, q('since=999')) && !flowMatches(f, q('since=1000')));
  assert.ok(!flowMatches(f, q('verdict=deny')));
});

test('flowQueryString: a peer is asked for the same flows', () => {
  const f = q('since=5&limit=7&to=ledger&status=5xx&verdict=error');
  assert.deepEqual(parseFlowQuery(new URLSearchParams(flowQueryString(f))), { ...f, local: false });
});

test('FlowStore: bounded, newest kept, matching ones oldest first; mergeFlows keeps time order and the limit', () => {
  const s = new FlowStore(3);
  for (let t = 1; t <= 5; t++) s.add(flow({ time: t, verdict: t % 2 ? 'allow' : 'deny' }));
  assert.deepEqual(s.query(q('')).map((f) => f.time), [3, 4, 5]);
  assert.deepEqual(s.query(q('verdict=deny')).map((f) => f.time), [4]);
  assert.deepEqual(s.query(q('limit=2')).map((f) => f.time), [4, 5]);
  assert.deepEqual(mergeFlows([[flow({ time: 1 }), flow({ time: 4 })], [flow({ time: 2 }), flow({ time: 3 })]], 3).map((f) => f.time), [2, 3, 4]);
});
