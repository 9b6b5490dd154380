// A throwaway PostgreSQL server for end-to-end tests: Debian's binaries
// (/usr/lib/postgresql/<version>/bin), a cluster in a temp dir, listening on
// one address only, with trust auth for one test user and nothing else. As
// root the cluster runs as the `postgres` system user (PostgreSQL refuses to
// run as root); otherwise as the current user.
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresIds, requirePostgresBinDir, runPgTool, runningAsRoot } from '../../src/lab/pg-binaries.js';
import { PG_USER } from '../../src/lab/pg-cluster.js';

export { PG_USER };

export interface PostgresServer {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startPostgres(address: string, port: number): Promise<PostgresServer> {
  const bin = requirePostgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'entente-pg-'));
  const data = join(dir, 'data');
  const asRoot = runningAsRoot();
  const pgRun = async (tool: string, args: string[]): Promise<void> => {
    await runPgTool(bin, tool, args);
  };
  try {
    if (asRoot) chownSync(dir, ...(await postgresIds()));
    // No auth method is trusted by default; pg_hba.conf below opens exactly one door.
    await pgRun('initdb', ['-D', data, '-U', PG_USER, '--auth=reject', '--no-sync']);
    // The destination agent dials the app from the host's loopback source address (127.0.0.1).
    writeFileSync(join(data, 'pg_hba.conf'), `host all ${PG_USER} 127.0.0.1/32 trust\nhost all ${PG_USER} ${address}/32 trust\n`);
    if (asRoot) chownSync(join(data, 'pg_hba.conf'), ...(await postgresIds()));
    await pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '90', '-o', `-c listen_addresses=${address} -p ${port} -k ${dir} -c fsync=off`, 'start']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    address,
    port,
    async stop() {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']).catch(() => {
        // pg_ctl failed: end the postmaster we started, by its own pid file, so no server outlives the test.
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
        if (pid > 1) process.kill(pid, 'SIGQUIT');
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
