// The upstream every variant ends at: nginx (Debian's) with one worker,
// answering "ok" on each address given, keep-alive without limits so the
// proxies in front of it can pool.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SocketAddress } from '../../src/core/address.js';
import { exitedChild, stopChild, waitHttpOk } from './net-util.js';

export interface Upstream {
  readonly kind: string;
  readonly pid: number;
  close(): Promise<void>;
}

export async function startNginx(dir: string, listen: readonly SocketAddress[]): Promise<Upstream> {
  const t = join(dir, 'nginx-tmp');
  await mkdir(t, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1; daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 120s;
  client_body_temp_path ${t}/body; proxy_temp_path ${t}/proxy; fastcgi_temp_path ${t}/fcgi; uwsgi_temp_path ${t}/uwsgi; scgi_temp_path ${t}/scgi;
  server { ${listen.map((a) => `listen ${a.host}:${a.port};`).join(' ')} location / { return 200 "ok\\n"; } }
}
`,
  );
  const p = spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const close = (): Promise<void> => stopChild(p, 'SIGQUIT');
  try {
    for (const a of listen) await waitHttpOk(a, 'nginx', { gone: () => exitedChild([p], 'nginx') });
  } catch (err) {
    await close();
    throw err;
  }
  return { kind: 'nginx, 1 worker', pid: p.pid ?? 0, close };
}
