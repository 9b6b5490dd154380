// The etcd client of a controller replica, from region.yaml's `etcd` section:
// TLS and user from files, and a deadline on every unary call so that a dead
// etcd fails a call instead of hanging it (watches have none: they are long).
// etcd3 (and gRPC under it) is loaded by import() only when replicas are
// configured: a single controller never pays for it.
import { readFileSync } from 'node:fs';
import type { Etcd3 } from 'etcd3';
import { EntenteError, describeError } from '../../core/errors.js';
import type { ControllerConfig } from '../controller-config.js';

export type EtcdConfig = NonNullable<ControllerConfig['etcd']>;

/** Unary etcd calls fail after this long. */
export const ETCD_CALL_DEADLINE_MS = 5000;

function readConfigFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EntenteError('ETCD_CONFIG', `etcd.${key} ${path}: ${describeError(err)}`, { hint: 'a readable file' });
  }
}

export async function connectEtcd(c: EtcdConfig): Promise<Etcd3> {
  // etcd3 is CommonJS: bundled, its exports arrive as the default export.
  const mod = await import('etcd3');
  const Etcd3 = mod.Etcd3 ?? (mod as unknown as { default: typeof mod }).default.Etcd3;
  const tls = c.tls;
  const credentials = tls
    ? {
        rootCertificate: tls.caFile ? readConfigFile('tls.caFile', tls.caFile) : (undefined as unknown as Buffer),
        ...(tls.certFile && tls.keyFile ? { certChain: readConfigFile('tls.certFile', tls.certFile), privateKey: readConfigFile('tls.keyFile', tls.keyFile) } : {}),
      }
    : undefined;
  if (c.endpoints.some((e) => e.startsWith('https://')) !== (tls !== undefined)) {
    throw new EntenteError('ETCD_CONFIG', `etcd.endpoints ${c.endpoints.join(', ')}: https endpoints need etcd.tls, and etcd.tls needs https endpoints`, {
      hint: 'use https:// URLs with a tls section (caFile at least), or http:// URLs on a trusted network only',
    });
  }
  const auth = c.auth ? { username: c.auth.username, password: readConfigFile('auth.passwordFile', c.auth.passwordFile).toString('utf8').trim() } : undefined;
  return new Etcd3({
    hosts: c.endpoints,
    ...(credentials ? { credentials } : {}),
    ...(auth ? { auth } : {}),
    dialTimeout: ETCD_CALL_DEADLINE_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }),
  });
}
