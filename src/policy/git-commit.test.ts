import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceCommit } from './git-commit.js';

test('resourceCommit: undefined outside a checkout, the HEAD commit inside one, "-dirty" after an uncommitted edit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'entente-git-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await resourceCommit(dir), undefined);
  const run = (...args: string[]): string => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { encoding: 'utf8' });
  run('init', '-q');
  writeFileSync(join(dir, 'policy.yaml'), 'a: 1\n');
  run('add', '.');
  run('commit', '-qm', 'policy');
  const head = run('rev-parse', 'HEAD').trim();
  assert.equal(await resourceCommit(dir), head);
  writeFileSync(join(dir, 'policy.yaml'), 'a: 2\n');
  assert.equal(await resourceCommit(dir), `${head}-dirty`);
});
