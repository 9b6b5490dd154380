// A real etcd (Debian's etcd-server, installed by scripts/setup-test-deps.sh)
// for one test file: its own loopback address and data directory, killed at
// the end even when the test fails. Ready once it answers /health.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';

export interface EtcdServer {
  readonly url: string;
  close(): Promise<void>;
}

const ETCD_BIN = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p));

export async function startEtcd(dir: string, ip: string): Promise<EtcdServer> {
  if (!ETCD_BIN) throw new Error('etcd is not installed: run scripts/setup-test-deps.sh (Debian package etcd-server)');
  await mkdir(dir, { recursive: true });
  const url = `http://${ip}:2379`;
  const peer = `http://${ip}:2380`;
  const log = openSync(join(dir, 'etcd.log'), 'a');
  const child: ChildProcess = spawn(ETCD_BIN, [
    '--name', 'test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`,
    // Small and quick: one member, no metrics listener, a short election tick is irrelevant with one member.
    '--log-level', 'warn', '--auto-compaction-retention', '1',
  ], { stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `etcd exited (${code ?? signal}); see ${join(dir, 'etcd.log')}`));
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  try {
    await eventually(async () => {
      if (exited) throw new Error(exited);
      return (await httpJson<{ health?: string }>(`${url}/health`).catch(() => undefined))?.body.health === 'true';
    }, { timeoutMs: 60_000, intervalMs: 200, what: `etcd at ${url} to answer /health` });
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}
