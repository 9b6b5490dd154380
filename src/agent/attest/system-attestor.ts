// The attestor an agent uses on its own host: the /proc attestor with the
// kernel's exact sock_diag lookup when the addon loads, else /proc/net/tcp
// alone; says which path it took and why, so the agent can log and export it.
import { ProcAttestor } from './proc-attestor.js';
import { loadSockDiag, type SockDiagLoad } from './sock-diag.js';

/** How the socket owner is found: one netlink request, or a read of every TCP socket of the host. */
export type SocketLookupPath = 'sock_diag' | 'proc_net_tcp';

export interface SystemAttestor {
  readonly attestor: ProcAttestor;
  readonly path: SocketLookupPath;
  /** Why sock_diag is not used; undefined when it is. */
  readonly fallbackReason: string | undefined;
}

/** `load` is injected by tests (a missing addon path); the agent takes the default. */
export function systemAttestor(load: () => SockDiagLoad = () => loadSockDiag()): SystemAttestor {
  const loaded = load();
  if (loaded.kind === 'loaded') return { attestor: new ProcAttestor({ sockDiag: loaded.sockDiag }), path: 'sock_diag', fallbackReason: undefined };
  return { attestor: new ProcAttestor(), path: 'proc_net_tcp', fallbackReason: loaded.reason };
}
