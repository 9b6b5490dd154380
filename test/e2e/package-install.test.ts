// The package as users get it: `npm pack`, installed with `npm install -g`
// into a temporary prefix, runs from there, outside the checkout: `entente
// version`, a short lab (real processes, from the installed bundle), the
// systemd units it ships pass `systemd-analyze verify`, and nothing of the
// tests or sources is shipped. Loopback range 127.255 (no other test uses it).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWatchdog } from './lab-harness.js';

exitWatchdog();
const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'entente-pkg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const prefix = join(dir, 'prefix');
const bin = join(prefix, 'bin', 'entente');
const installed = join(prefix, 'lib', 'node_modules', 'entente');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

test('npm pack, npm install -g into a prefix: the package runs from there', { timeout: 600_000 }, async (t) => {
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: ROOT, timeout: 120_000 });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  t.diagnostic(`${filename}: ${paths.length} files`);
  assert.ok(paths.includes('dist/entente.mjs') && paths.includes('dist/dashboard/app.js') && paths.includes('deploy/systemd/entente-agent.service'));
  const shipped = paths.filter((p) => p.startsWith('dist/src/') || p.startsWith('dist/test/') || p.startsWith('test/') || p.startsWith('src/') || p.endsWith('.map') || p.endsWith('.ts'));
  assert.deepEqual(shipped, [], 'no sources, tests or source maps');

  // Offline: the bundle carries its dependencies, so the install fetches nothing. The install step builds the sock_diag addon.
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--offline', '--allow-scripts=entente', join(dir, filename)], { cwd: dir, timeout: 300_000 });
  assert.ok(existsSync(bin), `${bin} installed`);
  assert.ok(!existsSync(join(installed, 'node_modules')) || readdirSync(join(installed, 'node_modules')).length === 0, 'no dependencies installed');
  const version = await run(bin, ['version'], { cwd: dir, timeout: 30_000 });
  assert.match(version.stdout, new RegExp(`entente ${pkg.version.replace(/\./g, '\\.')}`));
  t.diagnostic(`sock_diag addon built: ${existsSync(join(installed, 'build', 'Release', 'sock_diag.node'))}`);

  // A short lab from the installed package, in a directory of its own: every process is the installed bundle's.
  // --no-store: this checks the package, not PostgreSQL (whose servers would need 10 s of a 6 s run).
  const lab = await run(bin, ['lab', '--duration', '6', '--rate', '5', '--json', '--no-store', '--ip-prefix', '127.255'], { cwd: dir, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  const report = JSON.parse(lab.stdout) as { routes: { id: string; expect: string; requests: number; ok: number; failed: number }[]; unexpectedExits?: string[] };
  const allowed = report.routes.filter((r) => r.expect === 'allow');
  assert.ok(allowed.length > 0 && allowed.every((r) => r.ok > 0), JSON.stringify(report.routes.map((r) => [r.id, r.ok, r.failed])));
});

test('the shipped systemd units pass systemd-analyze verify (and a broken one does not)', { timeout: 120_000 }, async () => {
  const units = join(dir, 'units');
  mkdirSync(units, { recursive: true });
  const source = existsSync(join(installed, 'deploy', 'systemd')) ? join(installed, 'deploy', 'systemd') : join(ROOT, 'deploy', 'systemd');
  const names = readdirSync(source).filter((f) => f.endsWith('.service'));
  assert.deepEqual(names.sort(), ['entente-agent.service', 'entente-controller.service', 'entente-gateway.service']);
  // verify checks that ExecStart's program exists: point it at an executable that does.
  for (const n of names) writeFileSync(join(units, n), readFileSync(join(source, n), 'utf8').replaceAll('/usr/local/bin/entente', existsSync(bin) ? bin : process.execPath));
  const verify = (files: string[]): Promise<{ code: number; err: string }> =>
    run('systemd-analyze', ['verify', '--man=no', ...files], { timeout: 60_000 }).then(
      (r) => ({ code: 0, err: r.stderr }),
      (e: { code?: number; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : 1, err: e.stderr ?? '' }),
    );
  assert.deepEqual(await verify(names.map((n) => join(units, n))), { code: 0, err: '' });
  writeFileSync(join(units, 'broken.service'), '[Service]\nExecStart=relative/path\nRestart=sometimes\n');
  const bad = await verify([join(units, 'broken.service')]);
  assert.ok(bad.code !== 0 && /relative\/path/.test(bad.err), `the check itself can fail: ${JSON.stringify(bad)}`);
});
