// The sticky-reads layer: a caller's connection to a data service's
// read-write name sends its read-only connections to the primary for the
// window after it ends; other callers, and later reads, keep the replicas.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { stickyReadsLayer, WriteMarks } from './sticky-reads.js';
import type { OutboundCall } from './call.js';
import type { Endpoint, StickyRead } from '../dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../../identity/spiffe-id.js';
import type { Outcome } from '../outcome.js';

const ok = (): Outcome => ({ kind: 'done', status: 200, bytesOut: 0, bytesIn: 0 });

const td = parseTrustDomain('eu.example');
const ep = (name: string): Endpoint => ({ spiffeId: SpiffeId.forWorkload(td, 'shop', 'pg'), sni: name, dial: { host: '127.0.0.1', port: 1 }, authority: `${name}:5432`, region: 'eu', weight: 1 });
const PRIMARY = [ep('primary')];
const REPLICAS = [ep('replica')];

it('reads stick to the primary for the window after a write, per caller identity', async () => {
  let now = 1000;
  const marks = new WriteMarks(() => now);
  const stuck: string[] = [];
  const sticky = (role: 'write' | 'read'): StickyRead => ({ route: 'shop/orders', role, stickyMs: 2000, readWriteHost: 'orders-rw.shop.mesh', primary: new Map([[5432, PRIMARY]]) });
  // As the route layer leaves it: the route's stickiness on the call, for the data service's two names only.
  const stickyOf = new Map([['orders-rw.shop.mesh', sticky('write')], ['orders-ro.shop.mesh', sticky('read')]]);
  const seen: (readonly Endpoint[] | undefined)[] = [];
  const service = stickyReadsLayer(marks, (r) => stuck.push(r))(async (call) => {
    seen.push(call.endpoints);
    now += 500; // the call lasts 500 ms
    return ok();
  });
  const call = (host: string, account: string): OutboundCall =>
    ({ host, port: 5432, sticky: stickyOf.get(host.toLowerCase().replace(/\.$/, '')), workload: { spiffeId: SpiffeId.forWorkload(td, 'shop', account) }, endpoints: host.startsWith('orders-ro') ? REPLICAS : PRIMARY, balanceHost: undefined }) as unknown as OutboundCall;

  await service(call('orders-ro.shop.mesh', 'writer'));
  assert.equal(seen.at(-1), REPLICAS, 'no write yet: a replica');
  await service(call('orders-rw.shop.mesh', 'writer'));
  const read = call('ORDERS-RO.shop.mesh.', 'writer');
  await service(read);
  assert.equal(seen.at(-1), PRIMARY, 'just wrote: the primary');
  assert.equal(read.balanceHost, 'orders-rw.shop.mesh', 'balanced with the read-write calls');
  await service(call('orders-ro.shop.mesh', 'reader'));
  assert.equal(seen.at(-1), REPLICAS, 'another identity: a replica');
  now += 2000;
  await service(call('orders-ro.shop.mesh', 'writer'));
  assert.equal(seen.at(-1), REPLICAS, 'the window is over: a replica again');
  assert.deepEqual(stuck, ['shop/orders']);
  await service(call('catalog.shop.mesh', 'writer'));
  assert.equal(seen.at(-1), PRIMARY, 'other hosts untouched');
});

it('marks are bounded: past the capacity the oldest goes', () => {
  let now = 0;
  const marks = new WriteMarks(() => now, 3);
  for (const k of ['a', 'b', 'c', 'd']) {
    now++;
    marks.mark(k);
  }
  assert.equal(marks.within('a', 100), false);
  assert.equal(marks.within('d', 100), true);
});
