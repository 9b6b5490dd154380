// Loads the sock_diag addon (native/sock_diag.c, built by node-gyp at install):
// the kernel's exact lookup of one TCP socket by its 4-tuple. Missing or broken,
// it is "unavailable" with the reason, and attestation reads /proc/net/tcp.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../../core/errors.js';
import type { SocketEnd } from './proc-net-tcp.js';

/** What the kernel says of one 4-tuple; `state` is the kernel TCP state, as in /proc/net/tcp. */
export type SockDiagAnswer =
  | { readonly kind: 'found'; readonly uid: number; readonly inode: number; readonly state: number }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'error'; readonly message: string };

export interface SockDiag {
  /** The socket whose local end is `local` and remote end `remote`. Never throws. */
  lookup(family: 4 | 6, local: SocketEnd, remote: SocketEnd): SockDiagAnswer;
}

export type SockDiagLoad = { readonly kind: 'loaded'; readonly sockDiag: SockDiag; readonly path: string } | { readonly kind: 'unavailable'; readonly reason: string };

interface Addon {
  lookup(family: number, srcAddr: string, srcPort: number, dstAddr: string, dstPort: number): SockDiagAnswer;
  selfTest(): SockDiagAnswer;
}

/**
 * The package root: the nearest directory above this file with a
 * package.json. This file runs as dist/src/agent/attest/sock-diag.js or
 * inside a chunk of the bundle, dist/chunks/*.mjs; both sit below the root.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** Where node-gyp puts the addon (binding.gyp's target "sock_diag"). */
export function defaultAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'sock_diag.node');
}

/**
 * Loads the addon and proves it works here (a loopback pair looked up
 * once): a kernel without tcp_diag would otherwise answer "not found" for
 * every caller and attestation would refuse them all.
 */
export function loadSockDiag(addonPath: string = defaultAddonPath()): SockDiagLoad {
  if (process.platform !== 'linux') return { kind: 'unavailable', reason: `sock_diag is Linux-only (this is ${process.platform})` };
  if (!existsSync(addonPath)) {
    return { kind: 'unavailable', reason: `no addon at ${addonPath} (npm install builds it with node-gyp, which needs python3, make and a C compiler)` };
  }
  let addon: Addon;
  try {
    // createRequire, not import: a .node file loads only through require, and the bundler leaves this call alone.
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (err) {
    return { kind: 'unavailable', reason: `cannot load ${addonPath}: ${describeError(err)}` };
  }
  if (typeof addon.lookup !== 'function' || typeof addon.selfTest !== 'function') return { kind: 'unavailable', reason: `${addonPath} is not the sock_diag addon` };
  const probe = addon.selfTest();
  if (probe.kind !== 'found') return { kind: 'unavailable', reason: `sock_diag self-test failed: ${probe.kind === 'error' ? probe.message : 'loopback socket not found'}` };
  return {
    kind: 'loaded',
    path: addonPath,
    sockDiag: { lookup: (family, local, remote) => addon.lookup(family, local.address, local.port, remote.address, remote.port) },
  };
}
