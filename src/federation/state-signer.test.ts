// The signer coalesces changes that arrive while it signs, always ends on the
// newest state, and re-signs an unchanged state when its interval is due.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.js';
import type { RegionState } from '../mesh/mesh-config.js';
import { StateSigner } from './state-signer.js';

const state = (version: number): RegionState => ({ region: 'eu', trustDomain: 'eu.test', version, generatedAt: '', bundle: {}, gateways: [], exportedServices: [], policyDigest: '', healthy: true });

test('changes during a signature coalesce into one more signature of the newest state', async () => {
  let current = state(1);
  const signed: number[] = [];
  const fed: string[] = [];
  const signer = new StateSigner({
    current: () => current,
    sign: async (s) => {
      signed.push(s.version);
      await new Promise((r) => setTimeout(r, 20));
      return `jws-${s.version}`;
    },
    resignIntervalMs: 60_000,
    log: silentLogger(),
    onSigned: (j) => fed.push(j),
  });
  const first = signer.changed();
  current = state(2);
  void signer.changed();
  current = state(3);
  await signer.changed();
  await first;
  assert.deepEqual(signed, [1, 3], 'version 2 was never current when a signature started');
  assert.equal(signer.latest(), 'jws-3');
  assert.deepEqual(fed, ['jws-1', 'jws-3'], 'onSigned hears every signature that became latest()');
  signer.stop();
});

test('an unchanged state is re-signed when its interval is due; a failed signature keeps the previous one', async () => {
  let calls = 0;
  let fail = false;
  const signer = new StateSigner({
    current: () => state(1),
    sign: async () => {
      calls++;
      if (fail) throw new Error('CA unavailable');
      return `jws-${calls}`;
    },
    resignIntervalMs: 1000,
    log: silentLogger(),
  });
  await signer.start();
  assert.equal(signer.latest(), 'jws-1');
  const until = Date.now() + 5000;
  while (calls < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(signer.latest(), 'jws-2', 're-signed without any change');
  fail = true;
  while (calls < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(signer.latest(), 'jws-2');
  signer.stop();
});
