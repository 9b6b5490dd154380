// The adversarial review, replayed: a real lab (every component its own
// process, --no-traffic) and `entente lab-attack` against it. Every attack
// must be held, and the region must still serve afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../src/lab/process-supervisor.js';
import { eventually } from '../../src/core/eventually.js';
import { randomIpPrefix } from './lab-harness.js';

test('entente lab-attack against a running lab: every finding of the review holds', { timeout: 600_000 }, async () => {
  const workdir = await mkdtemp(join(tmpdir(), 'entente-attack-'));
  // --no-store: the attacks aim at the mesh; the store would only slow the start.
  const lab = spawn(process.execPath, [CLI_PATH, 'lab', '--workdir', workdir, '--ip-prefix', randomIpPrefix(150, 174), '--no-traffic', '--no-store'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  lab.stdout.on('data', (c: Buffer) => (out += c.toString()));
  lab.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await eventually(() => out.includes('no demo traffic (--no-traffic)') || lab.exitCode !== null, { timeoutMs: 180_000, what: `the lab to start:\n${out}` });
    assert.equal(lab.exitCode, null, `the lab exited:\n${out.slice(-3000)}`);
    const attack = spawn(process.execPath, [CLI_PATH, 'lab-attack', '--workdir', workdir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let report = '';
    let errors = '';
    attack.stdout.on('data', (c: Buffer) => (report += c.toString()));
    attack.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    const code = await new Promise<number | null>((resolve) => attack.on('exit', resolve));
    const parsed = JSON.parse(report) as { held: number; broken: number; results: { finding: string; attack: string; held: boolean; detail: string }[] };
    const broken = parsed.results.filter((r) => !r.held).map((r) => `[${r.finding}] ${r.attack}: ${r.detail}`);
    assert.deepEqual(broken, [], `attacks that got through:\n${broken.join('\n')}\n${errors.slice(-2000)}`);
    assert.equal(code, 0);
    // Every finding of the review is exercised.
    const findings = new Set(parsed.results.map((r) => r.finding.split(' ')[0]));
    for (const f of ['1', '2', '3', '4', '5', '6', '7', '8']) assert.ok(findings.has(f), `no attack tries finding ${f}`);
  } finally {
    lab.kill('SIGINT');
    await eventually(() => lab.exitCode !== null || lab.signalCode !== null, { what: 'the lab to exit' }).catch(() => lab.kill('SIGKILL'));
    await rm(workdir, { recursive: true, force: true });
  }
});
