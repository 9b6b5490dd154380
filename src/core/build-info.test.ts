import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { ENTENTE_VERSION, registerBuildInfo } from './build-info.js';

test('the version constant is the one in package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(ENTENTE_VERSION, pkg.version);
});

test('entente_build_info carries the version and Node.js version (and the default labels), value 1', async () => {
  const r = new Registry();
  r.setDefaultLabels({ component: 'gateway' });
  registerBuildInfo(r);
  const line = (await r.metrics()).split('\n').find((l) => l.startsWith('entente_build_info{'));
  assert.ok(line);
  assert.ok(line.includes(`version="${ENTENTE_VERSION}"`) && line.includes(`nodejs="${process.versions.node}"`) && line.includes('component="gateway"'), line);
  assert.ok(line.endsWith(' 1'), line);
});
