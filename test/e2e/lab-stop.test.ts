// Ctrl-C on `entente lab` stops every process it started, also after some of
// them were killed and restarted by hand, and --workdir keeps the generated configs.
// The store runs (its PostgreSQL servers are not the lab's children: pg_ctl
// detaches them), so the test checks that they are gone too, and their files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../src/lab/process-supervisor.js';
import { eventually } from '../../src/core/eventually.js';
import { randomIpPrefix } from './lab-harness.js';

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

function commandOf(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** Postmasters whose data directory is under the lab's (`postgres -D <workdir>/store/...`). */
function storeServers(workdir: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /\bpostgres\b.* -D /.test(l) && l.includes(join(workdir, 'store')))
    .map((l) => Number(l.trim().split(/\s+/, 1)[0]));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('Ctrl-C stops every process the lab started, after an agent and a gateway were restarted by hand; --workdir keeps the configs', { timeout: 180_000 }, async () => {
  const workdir = await mkdtemp(join(tmpdir(), 'entente-lab-stop-'));
  const lab = spawn(process.execPath, [CLI_PATH, 'lab', '--regions', 'eu,us', '--workdir', workdir, '--ip-prefix', randomIpPrefix(130, 149), '--rate', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  lab.stdout.on('data', (c: Buffer) => (out += c.toString()));
  lab.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const byHand: number[] = [];
  const exited = new Promise<number | null>((resolve) => lab.on('exit', (code) => resolve(code)));
  try {
    await eventually(() => out.includes('demo traffic on'), { timeoutMs: 120_000, what: `the lab to start:\n${out}` });
    const children = childrenOf(lab.pid!);
    // 2 regions x (controller, gateway, 2 agents) + 4 demo apps + 2 store clients.
    assert.equal(children.length, 14, `children: ${children.join(' ')}`);
    const servers = storeServers(workdir);
    assert.equal(servers.length, 2, 'a PostgreSQL primary and one replica run from the lab directory');
    // An operator's drill: kill an agent and the gateway, start them again by hand with the kept configs.
    for (const cfg of ['eu/agent-eu-node-1.yaml', 'eu/gateway.yaml']) {
      const kind = cfg.includes('agent') ? 'agent' : 'gateway';
      const pid = children.find((c) => commandOf(c).includes(cfg));
      assert.ok(pid, `a child runs ${cfg}`);
      process.kill(pid, 'SIGKILL');
      await eventually(() => !alive(pid), { what: `${cfg}'s process to die` });
      const hand = spawn(process.execPath, [CLI_PATH, kind, '--config', join(workdir, cfg)], { stdio: 'ignore', detached: true });
      byHand.push(hand.pid!);
    }
    await eventually(() => out.includes('eu-gateway exited unexpectedly'), { what: 'the lab to report the killed gateway' });
    lab.kill('SIGINT');
    await eventually(() => lab.exitCode !== null || lab.signalCode !== null, { what: `the lab to exit after Ctrl-C:\n${out.slice(-2000)}` });
    await exited;
    await eventually(() => children.every((p) => !alive(p)), { timeoutMs: 60_000, what: 'every child process to be gone' });
    await eventually(() => servers.every((p) => !alive(p)), { timeoutMs: 60_000, what: "the store's PostgreSQL servers to be gone" });
    assert.ok(!existsSync(join(workdir, 'store')), "the store's data directories are removed");
    for (const f of ['eu/region.yaml', 'eu/gateway.yaml', 'eu/agent-eu-node-1.yaml', 'us/resources/policies.yaml']) {
      assert.ok(existsSync(join(workdir, f)), `${f} is kept`);
    }
  } finally {
    if (lab.exitCode === null) lab.kill('SIGKILL');
    for (const pid of byHand) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(workdir, { recursive: true, force: true });
  }
});
