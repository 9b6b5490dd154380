import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';
import { pickFreePrefix, prefixFree } from './free-prefix.js';
import { PORTS } from './lab-topology.js';

test('a range whose controller admin address is bound is taken; the next free one is picked', async (t) => {
  // 127.3-127.8 hold no lab of the e2e tests (test/e2e/lab-harness.ts lists theirs; 127.9 is startup-failure's).
  const n = randomInt(3, 8);
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(PORTS.controllerAdmin, `127.${n}.2.1`, resolve));
  t.after(() => holder.close());
  assert.equal(await prefixFree(`127.${n}`, 3), false, 'region 2 of the range is held');
  assert.equal(await prefixFree(`127.${n}`, 1), true, 'a one-region range does not use region 2');
  const picked = await pickFreePrefix(n, 3, 2, async (p, count) => (p === `127.${n}` ? prefixFree(p, count) : true));
  assert.equal(picked, `127.${n + 1}`);
  assert.equal(await pickFreePrefix(n, 3, 1, prefixFree), undefined, 'none free within the tries');
});
