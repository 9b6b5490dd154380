// A controller that cannot start (its admin port is taken) exits with status 1
// and says which address, instead of running on with the listeners it opened.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTopology, PORTS } from '../../src/lab/lab-topology.js';
import { writeControllerFiles } from '../../src/lab/lab-files.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'entente.mjs');
// 127.9 is below every lab range of the e2e tests (lab-harness.ts).
const topo = buildTopology({ regions: ['eu', 'us'], ipPrefix: '127.9', rttMs: {}, jitterMs: 0, rate: 1 });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

test('a controller whose admin port is taken exits 1 naming the address', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-startfail-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = writeControllerFiles(dir, topo).get('eu')!;
  const eu = topo.regions[0]!;
  const squatter: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(PORTS.controllerAdmin, eu.controllerIp, () => resolve());
  });
  cleanups.push(() => new Promise((r) => squatter.close(() => r())));
  const child = spawn(process.execPath, [CLI, 'controller', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  // Bounded generously: the process must end by itself; a hang fails the test instead of the run.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(guard);
  assert.equal(code, 1, `exit code (stderr: ${stderr})`);
  assert.match(stderr, /EADDRINUSE|address already in use/i);
  assert.match(stderr, new RegExp(`${eu.controllerIp.replace(/\./g, '\\.')}|${PORTS.controllerAdmin}`));
});
