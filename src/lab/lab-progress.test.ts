// The lab's convergence progress: what each region still waits for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { regionWaiting, renderWaiting, svidWaiting } from './lab.js';

const peer = (region: string, ok = true): { region: string; reachable: boolean; stale: boolean; exportedServices: string[] } => ({
  region,
  reachable: ok,
  stale: !ok,
  exportedServices: ok ? ['shop/catalog'] : [],
});

describe('lab convergence progress', () => {
  it('a region waits for its nodes and for peers without fresh state', () => {
    assert.deepEqual(regionWaiting({ nodes: [{ connected: true }, { connected: false }], peers: [peer('us'), peer('ap', false)] }, 3), ['nodes 1/3', 'peers ap']);
    assert.deepEqual(regionWaiting({ nodes: [{ connected: true }, { connected: true }, { connected: true }], peers: [peer('us')] }, 3), []);
    assert.deepEqual(regionWaiting({ nodes: [{ connected: true }, { connected: true }, { connected: true }], peers: [{ ...peer('us'), exportedServices: [] }] }, 3), ['peers us']);
    assert.deepEqual(regionWaiting(undefined, 3), ['controller status']);
  });

  it('a region waits for SVIDs and for agents that do not answer', () => {
    assert.deepEqual(svidWaiting([[{ svidNotAfter: 'x' }], [{}]]), ['SVIDs 1/2']);
    assert.deepEqual(svidWaiting([[{ svidNotAfter: 'x' }], undefined]), ['agents 1/2 answering']);
    assert.deepEqual(svidWaiting([[{ svidNotAfter: 'x' }], [{ svidNotAfter: 'y' }]]), []);
  });

  it('one line names only the regions still waiting', () => {
    assert.equal(
      renderWaiting([
        { region: 'eu', waiting: ['nodes 2/3', 'peers us'] },
        { region: 'us', waiting: [] },
        { region: 'ap', waiting: ['SVIDs 1/2'] },
      ]),
      'waiting for eu: nodes 2/3, peers us; ap: SVIDs 1/2',
    );
  });
});
