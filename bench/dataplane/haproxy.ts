// The comparison: two HAProxy instances with mTLS between them, A (plain
// frontend, TLS backend verifying B) → B (TLS frontend requiring A's client
// certificate) → upstream, in `mode tcp` (a TLS handshake per client
// connection) or `mode http` (HAProxy's default http-reuse pools server-side
// connections). Certificates come from the project's own CA code.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import type { SocketAddress } from '../../src/core/address.js';
import { exitedChild, stopChild, waitHttpOk } from './net-util.js';

export type HaproxyMode = 'tcp' | 'http';

export interface HaproxyPair {
  readonly mode: HaproxyMode;
  readonly entry: SocketAddress;
  readonly pids: readonly number[];
  close(): Promise<void>;
}

export interface HaproxyCerts {
  readonly caFile: string;
  readonly serverPem: string;
  readonly clientPem: string;
}

/** A CA and two leaf certificates (B's server, A's client), written as HAProxy wants them: cert + key in one file. */
export async function writeHaproxyCerts(dir: string): Promise<HaproxyCerts> {
  const td = parseTrustDomain('haproxy.bench');
  const ca = await LocalCa.loadOrCreate(join(dir, 'ca-haproxy'), td);
  const leaf = async (name: string, file: string): Promise<string> => {
    const keys = await generateKeyPair();
    const svid = await ca.issue(SpiffeId.forWorkload(td, 'bench', name), keys.publicKey, 3_600_000);
    const path = join(dir, file);
    await writeFile(path, svid.chainPem + (await privateKeyToPem(keys.privateKey)), { mode: 0o600 });
    return path;
  };
  const caFile = join(dir, 'haproxy-ca.pem');
  await writeFile(caFile, ca.caCertPem);
  return { caFile, serverPem: await leaf('server', 'haproxy-server.pem'), clientPem: await leaf('client', 'haproxy-client.pem') };
}

/** The two configs; nbthread 1 each, like an agent's one event loop. */
export function haproxyConfigs(mode: HaproxyMode, a: SocketAddress, b: SocketAddress, upstream: SocketAddress, certs: HaproxyCerts): { a: string; b: string } {
  const common = [
    'global',
    '  maxconn 8000',
    '  nbthread 1',
    'defaults',
    `  mode ${mode}`,
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    ...(mode === 'http' ? ['  timeout http-keep-alive 60s'] : []),
    '',
  ].join('\n');
  return {
    a: `${common}frontend in\n  bind ${a.host}:${a.port}\n  default_backend out\nbackend out\n  server b ${b.host}:${b.port} ssl crt ${certs.clientPem} ca-file ${certs.caFile} verify required ssl-min-ver TLSv1.3\n`,
    b: `${common}frontend in\n  bind ${b.host}:${b.port} ssl crt ${certs.serverPem} ca-file ${certs.caFile} verify required ssl-min-ver TLSv1.3\n  default_backend app\nbackend app\n  server app ${upstream.host}:${upstream.port}\n`,
  };
}

export async function startHaproxyPair(dir: string, mode: HaproxyMode, a: SocketAddress, b: SocketAddress, upstream: SocketAddress, certs: HaproxyCerts): Promise<HaproxyPair> {
  const cfg = haproxyConfigs(mode, a, b, upstream, certs);
  const procs: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopChild(p)));
  };
  try {
    for (const [name, text] of [
      ['b', cfg.b],
      ['a', cfg.a],
    ] as const) {
      const file = join(dir, `haproxy-${mode}-${name}.cfg`);
      await writeFile(file, text);
      procs.push(spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    await waitHttpOk(a, `haproxy ${mode} pair`, { gone: () => exitedChild(procs, `haproxy (${mode})`) });
  } catch (err) {
    await close();
    throw err;
  }
  return { mode, entry: a, pids: procs.map((p) => p.pid ?? 0).filter((pid) => pid > 0), close };
}
