// The link states the dashboard draws, from what a controller says of a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkState } from './link-state.js';
import { account, ago, ms, percent, rate } from './format.js';

test('a healthy peer is up; a cut path is partitioned, or relayed when a relay carries it', () => {
  assert.equal(linkState({ reachable: true, link: { reachable: true, rttMs: 90, loss: 0 } }).state, 'up');
  assert.deepEqual(linkState({ reachable: false, link: { reachable: false } }), { state: 'partitioned', why: 'direct path cut and no relay' });
  assert.deepEqual(linkState({ reachable: true, link: { reachable: false }, relays: [{ via: 'ap' }] }), { state: 'relayed', why: 'direct path cut; relayed through ap' });
});

test('degraded: federation down with the data path up, stale state, or lossy probes', () => {
  assert.equal(linkState({ reachable: false, link: { reachable: true } }).state, 'degraded');
  assert.equal(linkState({ reachable: true, stale: true, link: { reachable: true } }).state, 'degraded');
  assert.match(linkState({ reachable: true, link: { reachable: true, loss: 0.2 } }).why, /20% of probes lost/);
  assert.equal(linkState({ reachable: true, link: { reachable: true, loss: 0.01 } }).state, 'up');
});

test('expired state or nothing heard at all is a partition; relay-only peers are up', () => {
  assert.equal(linkState({ reachable: true, expired: true }).state, 'partitioned');
  assert.equal(linkState({ reachable: false }).state, 'partitioned');
  assert.equal(linkState({ reachable: false, relayOnly: true }).state, 'up');
});

test('formats', () => {
  assert.equal(ms(0.5), '0.50 ms');
  assert.equal(ms(92.34), '92.3 ms');
  assert.equal(ms(12_500), '12.5 s');
  assert.equal(ago(3000), '3 s');
  assert.equal(ago(3 * 86_400_000), '3 days');
  assert.equal(rate(0.05), '3.0/min');
  assert.equal(rate(19.96), '20/s');
  assert.equal(percent(0.0123), '1.2%');
  assert.equal(account('spiffe://eu.entente.lab/ns/shop/sa/frontend'), 'shop/frontend');
});
