// The pushed config's version: unchanged content keeps it, new content takes
// the next one, across restarts (a new ConfigVersion over the same file) too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../core/log.js';
import { ConfigVersion, nextVersion } from './config-version.js';

test('nextVersion', () => {
  const cases: [Parameters<typeof nextVersion>[0], string, ReturnType<typeof nextVersion>][] = [
    [undefined, 'a', { version: 1, changed: true }],
    [{ version: 4, digest: 'a' }, 'a', { version: 4, changed: false }],
    [{ version: 4, digest: 'a' }, 'b', { version: 5, changed: true }],
  ];
  for (const [last, digest, want] of cases) assert.deepEqual(nextVersion(last, digest), want, `${JSON.stringify(last)} + ${digest}`);
});

test('ConfigVersion: versions only grow across restarts; an unusable counter continues from the clock', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-config-version-'));
  const file = join(dir, 'config-version.json');
  try {
    const a = new ConfigVersion(file, silentLogger());
    assert.deepEqual([a.versionFor('one'), a.versionFor('one'), a.versionFor('two'), a.versionFor('one')], [1, 1, 2, 3]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const b = new ConfigVersion(file, silentLogger());
    assert.equal(b.versionFor('one'), 3, 'a restart with the same content keeps its version');
    assert.equal(b.versionFor('two'), 4, 'and never re-issues an older version for other content');
    await writeFile(file, 'garbage');
    const before = Date.now();
    const c = new ConfigVersion(file, silentLogger());
    assert.ok(c.versionFor('two') > before, 'above any counter value, so nothing is issued twice');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
